"""A Key Vault look-alike for tests: HTTPS with a self-signed certificate, the bearer challenge, secrets by name.

It speaks just enough of the Key Vault REST contract for azure-keyvault-secrets' `SecretClient.get_secret`:
an unauthenticated request gets 401 + `WWW-Authenticate: Bearer authorization=..., resource=...`, then the
client retries with the token from its credential.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from pathlib import Path

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.json_http import JsonHandler, LocalServer

TENANT = "00000000-0000-0000-0000-000000000000"


def make_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "vault-cert.pem", folder / "vault-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class StaticTokenCredential:
    """An azure-core TokenCredential that hands out a fixed token and remembers the scopes it was asked for."""

    def __init__(self, token: str):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


class KeyVaultServer(LocalServer):
    def __init__(self, folder: Path, secrets: dict[str, str], token: str = "test-token"):
        self.secrets = dict(secrets)
        self.token = token
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization header or None)
        self.cert_path, key_path = make_self_signed_cert(folder)
        self._serve(self._handler())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _handler(self):
        server = self

        class Handler(JsonHandler):
            def do_GET(self):
                auth = self.headers.get("Authorization")
                server.requests.append((self.path, auth))
                if not auth:
                    challenge = (
                        f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                        'resource="https://vault.azure.net"'
                    )
                    return self._send(
                        401, {"error": {"code": "Unauthorized", "message": "AKV10000"}}, {"WWW-Authenticate": challenge}
                    )
                if auth != f"Bearer {server.token}":
                    return self._send(403, {"error": {"code": "Forbidden", "message": "Caller is not authorized"}})
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) < 2 or parts[0] != "secrets":
                    return self._send(400, {"error": {"code": "BadParameter", "message": "bad path"}})
                name = parts[1]
                if name not in server.secrets:
                    return self._send(
                        404,
                        {
                            "error": {
                                "code": "SecretNotFound",
                                "message": f"A secret with (name/id) {name} was not found",
                            }
                        },
                    )
                self._send(
                    200,
                    {
                        "value": server.secrets[name],
                        "id": f"{server.url}/secrets/{name}/1",
                        "attributes": {"enabled": True},
                    },
                )

        return Handler
