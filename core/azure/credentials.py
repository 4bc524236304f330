"""Azure settings and keys, looked up in order: environment, `.streamlit/secrets.toml`, Azure Key Vault.

A value is never printed: keys travel as `Secret` objects whose repr/str is masked, and every error names the
setting and where it was looked for, never its value.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.azure.errors import ServiceError
from core.config import PROJECT_ROOT

KEYVAULT_URL = "AZURE_KEYVAULT_URL"


class CredentialError(ServiceError):
    pass


class Secret:
    """A key that does not show up when printed, logged or put in an f-string by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Setting:
    name: str  # environment variable, and key in secrets.toml
    vault_secret: str  # default Key Vault secret name; `<name>_SECRET_NAME` overrides it
    secret: bool  # a key (masked) rather than an address

    @property
    def secret_name_setting(self) -> str:
        return f"{self.name}_SECRET_NAME"


LANGUAGE_ENDPOINT = Setting("AZURE_LANGUAGE_ENDPOINT", "azure-language-endpoint", secret=False)
LANGUAGE_KEY = Setting("AZURE_LANGUAGE_KEY", "azure-language-key", secret=True)
ML_ENDPOINT_URL = Setting("AZURE_ML_ENDPOINT_URL", "azure-ml-endpoint-url", secret=False)
ML_ENDPOINT_KEY = Setting("AZURE_ML_ENDPOINT_KEY", "azure-ml-endpoint-key", secret=True)


def default_secrets_file() -> Path:
    return Path(os.environ.get("BADBUZZ_SECRETS_FILE", PROJECT_ROOT / ".streamlit" / "secrets.toml"))


class Credentials:
    """Resolves settings for the Azure clients.

    `environ` and `secrets_file` default to the process environment and the project's secrets.toml;
    `vault_credential` (any azure-core TokenCredential) and `vault_client_options` (SecretClient keyword
    arguments, e.g. `connection_verify`, `verify_challenge_resource`) let tests run against a local vault.
    """

    def __init__(
        self,
        environ: dict | None = None,
        secrets_file: Path | str | None = None,
        vault_credential=None,
        vault_client_options: dict | None = None,
    ):
        self.environ = os.environ if environ is None else environ
        self.secrets_file = Path(secrets_file) if secrets_file else default_secrets_file()
        self.vault_credential = vault_credential
        self.vault_client_options = dict(vault_client_options or {})
        self._secrets_toml: dict | None = None
        self._vault_client = None
        self._vault_values: dict[str, str] = {}

    # -- local sources (cheap, no network) ------------------------------------------------------------
    def _toml(self) -> dict:
        if self._secrets_toml is None:
            self._secrets_toml = {}
            if self.secrets_file.exists():
                try:
                    data = tomllib.loads(self.secrets_file.read_text(encoding="utf-8"))
                except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                    raise CredentialError(f"{self.secrets_file} is not valid TOML: {exc}") from None
                # Top-level keys, or the same names under an [azure] table.
                self._secrets_toml = {**data.get("azure", {}), **{k: v for k, v in data.items() if k != "azure"}}
        return self._secrets_toml

    def local(self, name: str) -> tuple[str | None, str | None]:
        """(value, source) from the environment or secrets.toml, or (None, None)."""
        value = self.environ.get(name)
        if value:
            return value, "environment"
        value = self._toml().get(name)
        if isinstance(value, str) and value:
            return value, f"secrets.toml ({self.secrets_file})"
        return None, None

    def vault_url(self) -> str | None:
        return self.local(KEYVAULT_URL)[0]

    def where(self, setting: Setting) -> str | None:
        """Where a setting would come from, without any network call ('key vault' is not checked)."""
        source = self.local(setting.name)[1]
        if source:
            return source
        if self.vault_url():
            return f"Key Vault secret '{self.secret_name(setting)}'"
        return None

    def secret_name(self, setting: Setting) -> str:
        return self.local(setting.secret_name_setting)[0] or setting.vault_secret

    # -- resolution ----------------------------------------------------------------------------------
    def get(self, setting: Setting, required: bool = True):
        """The value (a `Secret` for keys), or None when not required and not found anywhere."""
        value = self.local(setting.name)[0]
        if value is None and self.vault_url():
            value = self._from_vault(self.secret_name(setting))
        if value is None:
            if not required:
                return None
            raise CredentialError(
                f"{setting.name} is not set: put it in the environment or in {self.secrets_file}, or set "
                f"{KEYVAULT_URL} and store it in Key Vault as secret '{self.secret_name(setting)}'."
            )
        return Secret(value) if setting.secret else value

    def _from_vault(self, secret_name: str) -> str | None:
        if secret_name in self._vault_values:
            return self._vault_values[secret_name]
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        url = self.vault_url()
        try:
            value = self._secret_client().get_secret(secret_name).value
        except ResourceNotFoundError:
            value = None
        except ClientAuthenticationError as exc:
            raise CredentialError(
                f"could not sign in to Key Vault {url}: {_first_line(exc)}. Sign in with `az login`, or set "
                "AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET for a service principal."
            ) from None
        except ServiceRequestError as exc:
            raise CredentialError(f"Key Vault {url} is not reachable: {_first_line(exc)}") from None
        except HttpResponseError as exc:
            hint = " Grant this identity the 'Key Vault Secrets User' role." if exc.status_code == 403 else ""
            raise CredentialError(
                f"Key Vault {url} refused to read secret '{secret_name}' (HTTP {exc.status_code}).{hint}"
            ) from None
        self._vault_values[secret_name] = value
        return value

    def _secret_client(self):
        if self._vault_client is None:
            from azure.keyvault.secrets import SecretClient

            credential = self.vault_credential
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            self._vault_client = SecretClient(self.vault_url(), credential, **self.vault_client_options)
        return self._vault_client


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
