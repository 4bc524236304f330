"""Credentials: environment, then secrets.toml, then a real Key Vault client against a local HTTPS vault."""

from __future__ import annotations

import logging

import pytest

from core.azure.credentials import (
    LANGUAGE_ENDPOINT,
    LANGUAGE_KEY,
    ML_ENDPOINT_KEY,
    CredentialError,
    Credentials,
    Secret,
)
from core.azure.language import LanguageClient
from tests.support.azure_keyvault_server import KeyVaultServer, StaticTokenCredential
from tests.support.azure_language_server import LanguageServer


@pytest.fixture
def vault(tmp_path):
    secrets = {
        "azure-language-key": "key-from-vault",
        "azure-language-endpoint": "https://from-vault.example/",
        "my-ml-key": "ml-key-from-vault",
    }
    with KeyVaultServer(tmp_path, secrets) as server:
        yield server


def vault_credentials(vault, environ: dict, secrets_file, token: str = "test-token") -> Credentials:
    credential = StaticTokenCredential(token)
    return Credentials(
        environ={"AZURE_KEYVAULT_URL": vault.url, **environ},
        secrets_file=secrets_file,
        vault_credential=credential,
        vault_client_options={"connection_verify": str(vault.cert_path), "verify_challenge_resource": False},
    )


def test_order_is_environment_then_secrets_toml_then_key_vault(vault, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('AZURE_LANGUAGE_ENDPOINT = "https://from-toml.example/"\n')
    creds = vault_credentials(vault, {"AZURE_LANGUAGE_KEY": "key-from-env"}, secrets)
    assert creds.get(LANGUAGE_KEY).reveal() == "key-from-env"
    assert creds.get(LANGUAGE_ENDPOINT) == "https://from-toml.example/"
    assert vault.requests == []  # nothing asked the vault yet
    secrets.write_text("")
    creds = vault_credentials(vault, {}, secrets)
    assert creds.get(LANGUAGE_KEY).reveal() == "key-from-vault"
    assert creds.get(LANGUAGE_ENDPOINT) == "https://from-vault.example/"
    # the SDK did the bearer challenge: one unauthenticated request, then the token, and asked for the vault scope
    assert vault.requests[0][1] is None and vault.requests[1][1] == "Bearer test-token"
    assert creds.vault_credential.scopes[0] == ("https://vault.azure.net/.default",)


def test_secrets_toml_azure_table_and_configurable_secret_names(vault, tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[azure]\nAZURE_ML_ENDPOINT_KEY_SECRET_NAME = "my-ml-key"\n')
    creds = vault_credentials(vault, {}, secrets)
    assert creds.secret_name(ML_ENDPOINT_KEY) == "my-ml-key"
    assert creds.get(ML_ENDPOINT_KEY).reveal() == "ml-key-from-vault"


def test_missing_secret_and_refused_token_give_clear_messages(vault, tmp_path):
    creds = vault_credentials(vault, {"AZURE_ML_ENDPOINT_KEY_SECRET_NAME": "absent"}, tmp_path / "none.toml")
    with pytest.raises(CredentialError, match="Key Vault as secret 'absent'"):
        creds.get(ML_ENDPOINT_KEY)
    assert creds.get(ML_ENDPOINT_KEY, required=False) is None
    creds = vault_credentials(vault, {}, tmp_path / "none.toml", token="stolen")
    with pytest.raises(CredentialError, match="refused .* \\(HTTP 403\\).*Key Vault Secrets User"):
        creds.get(LANGUAGE_KEY)


def test_keys_are_masked_and_status_needs_no_network(vault, tmp_path, caplog):
    secret = Secret("s3cr3t")
    assert "s3cr3t" not in f"{secret} {secret!r} {[secret]}"
    creds = vault_credentials(vault, {}, tmp_path / "none.toml")
    client = LanguageClient(credentials=creds)
    assert client.status() == (True, "")
    assert creds.where(LANGUAGE_KEY) == "Key Vault secret 'azure-language-key'"
    assert vault.requests == []
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    configured, why = LanguageClient(credentials=Credentials(environ={}, secrets_file=bad)).status()
    assert not configured and "not valid TOML" in why


def test_language_client_uses_the_key_from_key_vault_and_never_logs_it(vault, tmp_path, caplog):
    from core.azure.cache import AnswerCache
    from core.azure.spend import SpendGuard

    with LanguageServer(key="key-from-vault") as server:
        creds = vault_credentials(vault, {"AZURE_LANGUAGE_ENDPOINT": server.endpoint}, tmp_path / "none.toml")
        client = LanguageClient(
            credentials=creds, cache=AnswerCache(tmp_path / "c.db"), spend=SpendGuard(tmp_path / "u.json")
        )
        with caplog.at_level(logging.DEBUG):
            result = client.score(["what a great crew"])
        assert result.labels == ["positive"]
        assert "Ocp-Apim-Subscription-Key" in caplog.text and "key-from-vault" not in caplog.text
        assert len(server.requests) == 1
