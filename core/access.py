"""Who may do what on the dashboard: viewers and operators. Pure logic; the Streamlit glue (sidebar panel,
`is_operator()`, `operator_reason()`) is `views/components/access.py`.

Viewers see every page and score tweets with the local models. Operators may also launch and cancel runs,
submit Azure ML jobs and call the paid cloud services (Azure AI Language, the Azure ML endpoint). The first
configured mode decides how an operator is recognised:

1. `login`    — Streamlit's own OIDC login (`[auth]` in `.streamlit/secrets.toml`, e.g. Microsoft Entra ID),
                and a signed-in e-mail on the allow-list (`BADBUZZ_OPERATOR_EMAILS`, comma-separated, or
                `emails` under `[operators]` in secrets.toml);
2. `password` — the operator password (`BADBUZZ_OPERATOR_PASSWORD`, `operator_password` in secrets.toml, or
                the Key Vault secret `badbuzz-operator-password`), a few tries per minute;
3. `loopback` — no authentication configured and a server listening on the loopback interface only
                (`scripts/start.sh` without `--network`): whoever reaches it sits at this machine;
4. `locked`   — no authentication configured on a server reachable from the network: nobody is an operator.

The password is never logged, shown or stored: it travels as a masked `Secret`, sessions keep only an HMAC
of it, and comparisons take constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import threading
import time
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from core.azure.credentials import CredentialError, Credentials, Secret, Setting

OPERATOR, VIEWER = "operator", "viewer"
LOGIN, PASSWORD, LOOPBACK, LOCKED = "login", "password", "loopback", "locked"

PASSWORD_SETTING = Setting("BADBUZZ_OPERATOR_PASSWORD", "badbuzz-operator-password", secret=True)
PASSWORD_SECRETS_KEY = "operator_password"  # the key in secrets.toml
EMAILS_ENV = "BADBUZZ_OPERATOR_EMAILS"
TRIES_PER_SESSION = 5  # password tries per minute in one browser session…
TRIES_PER_SERVER = 10  # …and in the whole server process, so new sessions do not buy new tries
VAULT_CACHE_S = 300.0  # Key Vault is asked at most once per 5 minutes, not on every page render

LOG = logging.getLogger("badbuzz.access")

HOW_TO_CONFIGURE = (
    "To turn them on, set an operator password (`BADBUZZ_OPERATOR_PASSWORD`), or a login (`[auth]` in "
    "`.streamlit/secrets.toml` and `BADBUZZ_OPERATOR_EMAILS`), or serve on this machine only (`scripts/start.sh` "
    "without `--network`): README, *Exposing the dashboard safely*."
)


@dataclass(frozen=True)
class Access:
    """One session's rights: `who` and `how` describe an operator, `reason` tells a viewer how to become one."""

    role: str
    who: str = ""
    how: str = ""
    reason: str = ""

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


@dataclass(frozen=True)
class AccessSettings:
    mode: str  # LOGIN, PASSWORD, LOOPBACK or LOCKED
    server_address: str | None = None
    operator_emails: frozenset[str] = frozenset()
    password: Secret | None = field(default=None, repr=False)
    password_source: str = ""  # where the password comes from, never its value
    problem: str = ""  # a configuration problem the sidebar should show


# ------------------------------------------------------------------ addresses and e-mails


def is_loopback(address: str | None) -> bool:
    """True when a server bound to `address` is reachable from this machine only.

    Unset, empty, 0.0.0.0 and :: mean every interface; a host name other than localhost may resolve anywhere.
    """
    host = (address or "").strip().strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def parse_emails(value) -> frozenset[str]:
    """An allow-list from 'a@x.com, b@y.com' (commas, semicolons or spaces) or a list, lower-cased."""
    items = value if isinstance(value, (list, tuple, set, frozenset)) else re.split(r"[,;\s]+", str(value or ""))
    return frozenset(item.strip().casefold() for item in items if item and str(item).strip())


def email_allowed(email: str | None, allowed: frozenset[str]) -> bool:
    return bool(email) and email.strip().casefold() in allowed


# ------------------------------------------------------------------ password


def passwords_match(attempt: str, expected: str) -> bool:
    """Constant-time comparison; hashing first also hides the password's length."""
    return hmac.compare_digest(_sha256(attempt), _sha256(expected))


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


_SESSION_KEY = secrets.token_bytes(32)  # per process: a session's proof of the password dies with the server


def password_proof(password: Secret) -> str:
    """What a session keeps after a right password: an HMAC, so a changed password signs everyone out."""
    return hmac.new(_SESSION_KEY, password.reveal().encode("utf-8"), hashlib.sha256).hexdigest()


def proof_matches(proof: str | None, password: Secret | None) -> bool:
    return bool(proof) and password is not None and hmac.compare_digest(proof, password_proof(password))


class RateLimiter:
    """At most `max_tries` per key in any `window_s` seconds. Thread-safe: sessions run in their own threads."""

    def __init__(self, max_tries: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_tries, self.window_s, self.clock = max_tries, window_s, clock
        self._tries: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, key: str = "*") -> bool:
        """Count one try for `key`; False (and nothing counted) when its quota is spent."""
        now = self.clock()
        with self._lock:
            self._forget_before(now - self.window_s)
            tries = self._tries.setdefault(key, deque())
            if len(tries) >= self.max_tries:
                return False
            tries.append(now)
            return True

    def retry_after(self, key: str = "*") -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        now = self.clock()
        with self._lock:
            tries = self._tries.get(key)
            if not tries or len(tries) < self.max_tries:
                return 0.0
            return max(0.0, tries[0] + self.window_s - now)

    def reset(self) -> None:
        with self._lock:
            self._tries.clear()

    def _forget_before(self, cutoff: float) -> None:
        for key in list(self._tries):  # also drops the keys of sessions long gone
            tries = self._tries[key]
            while tries and tries[0] <= cutoff:
                tries.popleft()
            if not tries:
                del self._tries[key]


SESSION_TRIES = RateLimiter(TRIES_PER_SESSION)  # keyed by a per-session token
SERVER_TRIES = RateLimiter(TRIES_PER_SERVER)  # one key for the whole process


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    message: str


def check_password(
    attempt: str,
    expected: Secret | None,
    session_key: str,
    session_tries: RateLimiter = SESSION_TRIES,
    server_tries: RateLimiter = SERVER_TRIES,
) -> PasswordCheck:
    """Check an operator password under both rate limits. Failures are logged without the attempt."""
    if expected is None:
        return PasswordCheck(False, "The operator password could not be read on the server.")
    if not session_tries.try_acquire(session_key):
        return _too_many(session_tries.retry_after(session_key))
    if not server_tries.try_acquire():
        LOG.warning("operator password: server-wide limit of %d tries per minute reached", server_tries.max_tries)
        return _too_many(server_tries.retry_after())
    if passwords_match(attempt or "", expected.reveal()):
        LOG.info("operator signed in with the operator password")
        return PasswordCheck(True, "Signed in as operator.")
    LOG.warning("operator password refused")
    return PasswordCheck(False, "Wrong password.")


def _too_many(wait_s: float) -> PasswordCheck:
    return PasswordCheck(False, f"Too many tries: wait {max(1, round(wait_s))} s and try again.")


# ------------------------------------------------------------------ settings


def load_settings(
    *,
    login_configured: bool,
    server_address: str | None,
    behind_proxy: bool = False,
    credentials: Credentials | None = None,
) -> AccessSettings:
    """Which mode is configured, from the environment, secrets.toml and (for the password) Key Vault.

    `login_configured`: an `[auth]` section in Streamlit's secrets; `behind_proxy`: requests carry proxy
    headers, so a loopback address does not mean the visitors sit at this machine.
    """
    credentials = credentials or Credentials()
    try:
        emails = operator_emails(credentials)
        if login_configured:
            problem = "" if emails else f"No operator e-mail is set: add them to `{EMAILS_ENV}`."
            return AccessSettings(LOGIN, server_address, emails, problem=problem)
        password, source, problem = find_password(credentials)
    except CredentialError as exc:  # a broken secrets.toml: nobody is an operator until it is fixed
        return AccessSettings(LOCKED, server_address, problem=str(exc))
    if password is not None or problem:  # a password that cannot be read locks rather than opens
        return AccessSettings(PASSWORD, server_address, emails, password, source, problem)
    local_only = is_loopback(server_address) and not behind_proxy
    return AccessSettings(LOOPBACK if local_only else LOCKED, server_address, emails)


def operator_emails(credentials: Credentials) -> frozenset[str]:
    value = credentials.environ.get(EMAILS_ENV)
    if value:
        return parse_emails(value)
    operators = _secrets_toml(credentials).get("operators", {})
    return parse_emails(operators.get("emails")) if isinstance(operators, dict) else frozenset()


def _secrets_toml(credentials: Credentials) -> dict:
    path = credentials.secrets_file
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CredentialError(f"{path} is not valid TOML: {exc}") from None


def find_password(credentials: Credentials) -> tuple[Secret | None, str, str]:
    """(password, where it comes from, problem): environment, secrets.toml, then Key Vault."""
    for name in (PASSWORD_SETTING.name, PASSWORD_SECRETS_KEY):
        value, source = credentials.local(name)
        if value:
            return Secret(value), source, ""
    if not credentials.vault_url():
        return None, "", ""
    secret_name = credentials.secret_name(PASSWORD_SETTING)
    value, problem = _vault_secret(credentials, secret_name)
    return (Secret(value) if value else None), f"Key Vault secret '{secret_name}'", problem


_vault_cache: dict[tuple[str, str], tuple[float, str | None, str]] = {}
_vault_lock = threading.Lock()


def _vault_secret(credentials: Credentials, secret_name: str) -> tuple[str | None, str]:
    """(value or None when absent, problem) for the password's Key Vault secret, cached for VAULT_CACHE_S."""
    key = (credentials.vault_url(), secret_name)
    with _vault_lock:  # one lookup at a time: many sessions render at once after a restart
        cached = _vault_cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        try:
            secret, problem = credentials.get(PASSWORD_SETTING, required=False), ""
            value = secret.reveal() if secret else None
        except CredentialError as exc:
            value, problem = None, f"The operator password could not be read: {exc}"
        _vault_cache[key] = (time.monotonic() + VAULT_CACHE_S, value, problem)
        return value, problem


def forget_vault_cache() -> None:
    with _vault_lock:
        _vault_cache.clear()


# ------------------------------------------------------------------ deciding


def decide(settings: AccessSettings, *, user: dict | None = None, proof: str | None = None) -> Access:
    """The session's role. `user`: Streamlit's st.user as a dict; `proof`: what the session kept after a
    right password (see `password_proof()`)."""
    if settings.mode == LOGIN:
        return _by_login(settings, user or {})
    if settings.mode == PASSWORD:
        if proof_matches(proof, settings.password):
            return Access(OPERATOR, "operator password holder", "operator password")
        return Access(VIEWER, reason="enter the operator password in the sidebar")
    if settings.mode == LOOPBACK:
        return Access(
            OPERATOR,
            "local user",
            f"this server listens on {settings.server_address} only, no authentication configured",
        )
    return Access(
        VIEWER,
        reason="this server is reachable from the network and has no authentication configured (see the sidebar)",
    )


def _by_login(settings: AccessSettings, user: dict) -> Access:
    if not user.get("is_logged_in"):
        return Access(VIEWER, reason="sign in in the sidebar")
    email = str(user.get("email") or "")
    if user.get("email_verified") is False:
        return Access(VIEWER, email, reason=f"{email} is not a verified e-mail")
    if email_allowed(email, settings.operator_emails):
        return Access(OPERATOR, email, "signed in with an operator e-mail")
    return Access(
        VIEWER,
        email or "signed-in user",
        reason=f"{email or 'this account'} is not on the operator list ({EMAILS_ENV})",
    )
