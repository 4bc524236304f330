"""Viewers and operators: core/access.py's rules, and the dashboard (app.py with its sidebar panel) in AppTest.

conftest.py runs every test as on scripts/start.sh's default server (127.0.0.1, no authentication); the tests
here set other addresses with `serving_on`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tomllib

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from core import access
from core.azure.credentials import Credentials, Secret
from core.config import PROJECT_ROOT
from tests.support.azure_keyvault_server import KeyVaultServer, StaticTokenCredential
from tests.support.streamlit import serving_on

PASSWORD = "correct horse battery staple"
TIMEOUT = 90
ENTRA = "https://login.microsoftonline.com/tenant/v2.0/.well-known/openid-configuration"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "microsoft": {"client_id": "id", "client_secret": "secret", "server_metadata_url": ENTRA},
}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def creds(tmp_path, environ: dict | None = None, toml: str = "") -> Credentials:
    tmp_path.mkdir(parents=True, exist_ok=True)
    secrets_file = tmp_path / "secrets.toml"
    if toml:
        secrets_file.write_text(toml)
    return Credentials(environ=environ or {}, secrets_file=secrets_file)


# ------------------------------------------------------------------ core/access.py


def test_password_compare_is_constant_time(monkeypatch):
    calls = []
    real = access.hmac.compare_digest
    monkeypatch.setattr(access.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert access.passwords_match(PASSWORD, PASSWORD)
    assert not access.passwords_match("short", PASSWORD)
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)  # digests: length is not leaked
    assert PASSWORD.encode() not in b"".join(a + b for a, b in calls)


def test_rate_limit_blocks_the_sixth_try_within_a_minute():
    clock = Clock()
    limiter = access.RateLimiter(5, 60, clock=clock)
    assert [limiter.try_acquire("s1") for _ in range(6)] == [True] * 5 + [False]
    assert 0 < limiter.retry_after("s1") <= 60
    assert limiter.try_acquire("s2")  # another key has its own quota
    clock.now += 59
    assert not limiter.try_acquire("s1")
    clock.now += 1.5
    assert limiter.try_acquire("s1") and limiter.retry_after("s2") == 0


def test_password_tries_are_limited_per_session_and_per_server(caplog):
    access.LOG.addHandler(caplog.handler)  # the dashboard gives this logger Streamlit's handler, not propagating
    caplog.handler.setLevel(logging.INFO)
    session, server = access.RateLimiter(5, clock=Clock()), access.RateLimiter(10, clock=Clock())
    expected = Secret(PASSWORD)
    check = lambda attempt, key: access.check_password(attempt, expected, key, session, server)  # noqa: E731
    assert [check("guess", "a").message for _ in range(5)] == ["Wrong password."] * 5
    refused = check(PASSWORD, "a")  # the right password, too late
    assert not refused.ok and "Too many tries" in refused.message
    assert check(PASSWORD, "b").ok  # a fresh session may try…
    for _ in range(4):
        check("guess", "c")
    assert "Too many tries" in check(PASSWORD, "d").message  # …until the server's 10 tries are spent
    access.LOG.removeHandler(caplog.handler)
    assert PASSWORD not in caplog.text and "guess" not in caplog.text
    assert "operator password refused" in caplog.text


@pytest.mark.parametrize(
    "address, loopback",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.0.1.1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("::", False),
        ("192.168.1.20", False),
        ("10.0.0.4", False),
        ("dashboard.example.com", False),
    ],
)
def test_loopback_addresses(address, loopback):
    assert access.is_loopback(address) is loopback


def test_operator_emails_are_case_insensitive(tmp_path):
    allowed = access.parse_emails(" Ops@AirParadis.example, lead@airparadis.example ;x@y.z")
    assert allowed == {"ops@airparadis.example", "lead@airparadis.example", "x@y.z"}
    assert access.email_allowed("OPS@airparadis.EXAMPLE ", allowed)
    assert not access.email_allowed("ops@airparadis.example.evil", allowed)
    assert not access.email_allowed("", allowed) and not access.email_allowed(None, allowed)
    from_toml = creds(tmp_path, toml='[operators]\nemails = ["Ops@AirParadis.example"]\n')
    assert access.operator_emails(from_toml) == {"ops@airparadis.example"}
    env_wins = creds(tmp_path, {"BADBUZZ_OPERATOR_EMAILS": "lead@x.example"})
    assert access.operator_emails(env_wins) == {"lead@x.example"}


def test_modes_come_in_order_login_password_loopback(tmp_path):
    with_password = creds(tmp_path, {"BADBUZZ_OPERATOR_PASSWORD": PASSWORD})
    load = access.load_settings
    assert load(login_configured=True, server_address="0.0.0.0", credentials=with_password).mode == access.LOGIN
    settings = load(login_configured=False, server_address="127.0.0.1", credentials=with_password)
    assert settings.mode == access.PASSWORD and settings.password_source == "environment"
    assert PASSWORD not in repr(settings)
    nothing = creds(tmp_path / "none")
    assert load(login_configured=False, server_address="127.0.0.1", credentials=nothing).mode == access.LOOPBACK
    assert load(login_configured=False, server_address=None, credentials=nothing).mode == access.LOCKED
    behind_proxy = load(login_configured=False, server_address="127.0.0.1", behind_proxy=True, credentials=nothing)
    assert behind_proxy.mode == access.LOCKED
    from_toml = load(
        login_configured=False,
        server_address=None,
        credentials=creds(tmp_path / "toml", toml=f'operator_password = "{PASSWORD}"\n'),
    )
    assert from_toml.mode == access.PASSWORD and from_toml.password.reveal() == PASSWORD
    broken = load(
        login_configured=False,
        server_address="127.0.0.1",
        credentials=creds(tmp_path / "broken", toml="operators = [unclosed\n"),
    )
    assert broken.mode == access.LOCKED and "not valid TOML" in broken.problem


def test_password_from_key_vault_and_a_vault_that_fails_locks(tmp_path):
    access.forget_vault_cache()
    (tmp_path / "v").mkdir()
    with KeyVaultServer(tmp_path / "v", {"badbuzz-operator-password": PASSWORD}) as vault:

        def vault_creds(token="test-token"):
            return Credentials(
                environ={"AZURE_KEYVAULT_URL": vault.url},
                secrets_file=tmp_path / "none.toml",
                vault_credential=StaticTokenCredential(token),
                vault_client_options={"connection_verify": str(vault.cert_path), "verify_challenge_resource": False},
            )

        settings = access.load_settings(login_configured=False, server_address="0.0.0.0", credentials=vault_creds())
        assert settings.mode == access.PASSWORD and settings.password.reveal() == PASSWORD
        assert settings.password_source == "Key Vault secret 'badbuzz-operator-password'"
        asked = len(vault.requests)
        access.load_settings(login_configured=False, server_address="0.0.0.0", credentials=vault_creds())
        assert len(vault.requests) == asked  # cached: not asked on every page render
        access.forget_vault_cache()
        refused = access.load_settings(
            login_configured=False, server_address="127.0.0.1", credentials=vault_creds(token="stolen")
        )
    access.forget_vault_cache()
    # the password exists but cannot be read: nobody is an operator, even on a loopback server
    assert refused.mode == access.PASSWORD and refused.password is None and "could not be read" in refused.problem
    assert not access.decide(refused, proof="anything").is_operator


def test_decide_login_password_loopback_and_locked():
    login = access.AccessSettings(access.LOGIN, operator_emails=frozenset({"ops@airparadis.example"}))
    assert access.decide(login, user={}).reason == "sign in in the sidebar"
    allowed = access.decide(login, user={"is_logged_in": True, "email": "Ops@AirParadis.example"})
    assert allowed.is_operator and allowed.who == "Ops@AirParadis.example"
    other = access.decide(login, user={"is_logged_in": True, "email": "someone@else.example"})
    assert not other.is_operator and "not on the operator list" in other.reason
    unverified = {"is_logged_in": True, "email": "ops@airparadis.example", "email_verified": False}
    assert not access.decide(login, user=unverified).is_operator

    password = access.AccessSettings(access.PASSWORD, password=Secret(PASSWORD))
    assert not access.decide(password).is_operator
    assert access.decide(password, proof=access.password_proof(Secret(PASSWORD))).is_operator
    changed = access.AccessSettings(access.PASSWORD, password=Secret("a new password"))
    assert not access.decide(changed, proof=access.password_proof(Secret(PASSWORD))).is_operator

    assert access.decide(access.AccessSettings(access.LOOPBACK, "127.0.0.1")).is_operator
    locked = access.decide(access.AccessSettings(access.LOCKED, "0.0.0.0"))
    assert not locked.is_operator and "no authentication" in locked.reason


# ------------------------------------------------------------------ the dashboard


@pytest.fixture
def cloud_calls(monkeypatch):
    """Every call a cloud client could make (its status check included), recorded instead of made."""
    from core.azure.endpoint import EndpointClient
    from core.azure.language import LanguageClient

    calls = []
    for cls in (LanguageClient, EndpointClient):
        monkeypatch.setattr(cls, "score", lambda self, texts: calls.append((self.key, "score")))
        monkeypatch.setattr(cls, "status", lambda self: calls.append((self.key, "status")) or (False, "test"))
    return calls


def dashboard(**options) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=TIMEOUT)
    for name, value in options.items():
        setattr(at, name, value)
    return ran(at)


def ran(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def press(at: AppTest, label: str, where=None) -> AppTest:
    next(b for b in (where or at).button if b.label == label).click()
    return ran(at)


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def score_live(at: AppTest, text: str = "lost my bag again") -> AppTest:
    ran(at.switch_page("views/live.py"))
    at.text_area(key="live_text").input(text)
    return press(at, "Score")


def test_a_viewer_on_an_exposed_server_gets_no_cloud_call(no_cloud, cloud_calls):
    with serving_on("0.0.0.0"):
        at = score_live(dashboard())
    sidebar = texts(at.sidebar.info) + texts(at.sidebar.warning)
    assert "**Viewer**" in sidebar and "score tweets with the local models" in sidebar
    assert "listens on `0.0.0.0` and has no authentication" in sidebar and "BADBUZZ_OPERATOR_PASSWORD" in sidebar
    line = next(c.value for c in at.caption if c.value.startswith("Not answering here:"))
    assert "Azure AI Language (operators only)" in line and "Azure ML endpoint (operators only)" in line
    assert cloud_calls == []  # not even a status check
    assert "(not trained)" in line and "python" not in line  # a viewer gets no command and no server path
    assert not [e for e in at.expander if e.label.startswith("Why, and how")]  # the how-to is for operators


def test_a_viewer_signs_in_with_the_operator_password(no_cloud, cloud_calls, monkeypatch):
    monkeypatch.setenv("BADBUZZ_OPERATOR_PASSWORD", PASSWORD)
    with serving_on("0.0.0.0"):
        at = dashboard()
        assert "the operator password" in texts(at.sidebar.info)
        at.text_input(key="access-password").input("not it")
        press(at, "Sign in as operator", at.sidebar)
        assert "Wrong password." in texts(at.sidebar.error)
        assert "**Operator**" not in texts(at.sidebar.success)
        at.text_input(key="access-password").input(PASSWORD)
        press(at, "Sign in as operator", at.sidebar)
        assert "**Operator** (operator password)" in texts(at.sidebar.success)
        assert PASSWORD not in str(at.session_state.to_dict())  # the session keeps a proof, not the password
        assert PASSWORD not in str(at._tree)
        at = score_live(at)
        assert ("azure-language", "status") in cloud_calls  # an operator's cloud columns are asked
        press(at, "Sign out", at.sidebar)
        assert "**Viewer**" in texts(at.sidebar.info)


def test_on_a_loopback_server_without_auth_the_visitor_is_operator(no_cloud, cloud_calls):
    with serving_on("127.0.0.1"):
        at = score_live(dashboard())
    assert "**Operator**" in texts(at.sidebar.success) and "127.0.0.1" in texts(at.sidebar.success)
    assert not [b for b in at.sidebar.button if b.label == "Sign out"]  # nothing to sign out of
    assert {key for key, _ in cloud_calls} == {"azure-language", "azure-endpoint"}
    assert "Azure AI Language (not configured)" in texts(at.caption)


def test_with_a_login_configured_the_sidebar_offers_it_and_allowed_emails_are_operators(no_cloud, monkeypatch):
    with serving_on("127.0.0.1"):  # a login applies on loopback too
        at = dashboard(secrets={"auth": AUTH})
        assert "not fully configured" in texts(at.sidebar.warning)  # no operator e-mail: the log says so
        monkeypatch.setenv("BADBUZZ_OPERATOR_EMAILS", "Ops@AirParadis.example")
        ran(at)
        assert "not fully configured" not in texts(at.sidebar.warning)
        assert [b.label for b in at.sidebar.button] == ["Sign in with Microsoft"]
        assert "signing in with an operator e-mail" in texts(at.sidebar.info)
        at.user = {"is_logged_in": True, "email": "ops@airparadis.example", "name": "Ops"}
        ran(at)
        assert "**Operator** — ops@airparadis.example" in texts(at.sidebar.success)
        assert [b.label for b in at.sidebar.button] == ["Sign out"]
        at.user = {"is_logged_in": True, "email": "visitor@example.com"}
        ran(at)
        assert "visitor@example.com is not on the operator list" in texts(at.sidebar.caption)


def test_the_monitor_offers_cloud_scoring_to_operators_only(no_cloud, trained_logreg_run, monkeypatch):
    from core.config import runs_dir

    shutil.copytree(trained_logreg_run, runs_dir() / "logreg-tiny")
    cloud_run = runs_dir() / "azure-language-eval"
    shutil.copytree(trained_logreg_run, cloud_run)
    meta = json.loads((cloud_run / "run.json").read_text())
    (cloud_run / "run.json").write_text(json.dumps({**meta, "kind": "azure-language", "approach": "Azure eval"}))
    monkeypatch.setattr(
        "core.azure.services.list_services", lambda: pytest.fail("a viewer's page asked the cloud services")
    )
    with serving_on("0.0.0.0"):
        at = ran(dashboard().switch_page("views/monitor.py"))
    model = next(s for s in at.selectbox if s.label == "Model")
    assert model.options and not any("Azure" in option for option in model.options)  # the logreg run only
    assert "Cloud services (billed per call): Operators only:" in texts(at.caption)


def test_visitors_get_no_trace_and_the_server_logs_it(caplog):
    options = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert options["client"]["showErrorDetails"] == st_config.ShowErrorDetailsConfigOptions.NONE
    assert options["logger"]["enableRich"] is False
    logger = logging.getLogger("streamlit.error_util")  # Streamlit's loggers do not propagate: listen there
    logger.addHandler(caplog.handler)
    try:
        with patch_config_options({"client.showErrorDetails": "none", "logger.enableRich": False}):
            at = AppTest.from_string("raise RuntimeError('/srv/badbuzz/secret-path')").run()
    finally:
        logger.removeHandler(caplog.handler)
    [shown] = at.exception
    assert "secret-path" not in str(shown.proto) and not shown.stack_trace and "redacted" in shown.message
    [record] = [r for r in caplog.records if r.name == "streamlit.error_util"]
    assert record.levelno == logging.ERROR and "secret-path" in str(record.exc_info[1])


def test_a_viewer_picks_data_for_their_session_only_an_operator_for_everyone(tmp_path, monkeypatch):
    from core.data import sources
    from tests.support.data import make_tweets, write_headered_csv

    monkeypatch.setenv("BADBUZZ_DATA", str(write_headered_csv(tmp_path / "configured.csv", make_tweets(60))))
    uploaded = sources.store_upload(
        "mine.csv", write_headered_csv(tmp_path / "u.csv", make_tweets(60, seed=2)).read_bytes()
    )
    configured = next(s for s in sources.page_sources() if s.origin == "configured")
    sources.remember(configured)
    for address, expected in (("0.0.0.0", configured.key), ("127.0.0.1", uploaded.key)):
        with serving_on(address):
            at = AppTest.from_file(str(PROJECT_ROOT / "views" / "data.py"), default_timeout=60).run()
            picker = next(s for s in at.selectbox if s.label == "Data source")
            picker.set_value(uploaded.key).run()
            assert not at.exception, at.exception
        assert sources.dashboard_source().key == expected, address
