"""Viewer or operator, for the pages: the sidebar panel and the helpers that gate operator actions.

Operator actions are launching and cancelling runs, Azure ML jobs, and every call that costs money (Azure
AI Language, the Azure ML endpoint). Everything else — every page, scoring with the local models — is open to
viewers. The rules live in `core/access.py`; this module reads the session (st.user, session state, the
server address) and draws the sidebar panel.

Helpers for pages:

- `is_operator() -> bool` — may this session do operator actions now?
- `operator_reason() -> str` — "" for an operator; for a viewer, why not and how to become one, e.g.
  "Operators only: enter the operator password in the sidebar." (use it as a button's `help` and say it
  next to the disabled control);
- `current_access() -> core.access.Access` — role, who, how, reason (the reason without "Operators only: ");
- `sidebar_panel()` — the "Access" panel app.py puts in the sidebar.

Pattern for an operator action::

    from views.components.access import is_operator, operator_reason

    allowed = is_operator()
    clicked = st.button("Launch", disabled=not allowed, help=operator_reason() or None)
    if not allowed:
        st.caption(operator_reason())
    if clicked and is_operator():   # check again where the action happens: a disabled button is a hint,
        launch()                    # not a guard (a crafted client can still send the click)
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Mapping

import streamlit as st
from streamlit.logger import get_logger

from core import access

get_logger(access.LOG.name)  # sign-in failures and configuration problems: in the server log, Streamlit's format

PROOF_KEY = "_access_password_proof"  # the session's HMAC of the right password, never the password
SESSION_TOKEN_KEY = "_access_session"  # keys this session's password rate limit
MESSAGE_KEY = "_access_message"  # the outcome of the last password try, shown once
PASSWORD_WIDGET_KEY = "access-password"
PROXY_HEADERS = ("X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip")


# ------------------------------------------------------------------ reading the session


def server_address() -> str | None:
    """`server.address` as Streamlit was started with it (None: every interface)."""
    return st.get_option("server.address")


def behind_proxy() -> bool:
    """True when the request came through a reverse proxy: then a loopback address proves nothing."""
    try:
        headers = st.context.headers
        return any(headers.get(name) for name in PROXY_HEADERS)
    except Exception:  # no request (bare script run): no proxy either
        return False


def auth_section() -> Mapping:
    """Streamlit's `[auth]` secrets (what st.login uses), or {} when there is none or no secrets file."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # StreamlitSecretNotFoundError: no secrets.toml at all
        return {}
    return section if isinstance(section, Mapping) else {}


def signed_in_user() -> dict:
    """st.user as a plain dict ({} when nobody signed in or auth is not configured)."""
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def access_settings() -> access.AccessSettings:
    return access.load_settings(
        login_configured=bool(auth_section()), server_address=server_address(), behind_proxy=behind_proxy()
    )


def current_access(settings: access.AccessSettings | None = None) -> access.Access:
    settings = settings or access_settings()
    user = signed_in_user() if settings.mode == access.LOGIN else None
    return access.decide(settings, user=user, proof=st.session_state.get(PROOF_KEY))


def is_operator() -> bool:
    return current_access().is_operator


def operator_reason() -> str:
    rights = current_access()
    return "" if rights.is_operator else f"Operators only: {rights.reason}."


# ------------------------------------------------------------------ the sidebar panel


def sidebar_panel() -> None:
    settings = access_settings()
    rights = current_access(settings)
    st.subheader("Access")
    if rights.is_operator:
        operator_panel(settings, rights)
    else:
        viewer_panel(settings, rights)
    if settings.problem:
        report_problem(settings.problem)


_reported: set[str] = set()


def report_problem(problem: str) -> None:
    """A configuration problem goes to the server log (once); visitors only learn that there is one, since the
    details may name a vault or a path."""
    if problem not in _reported:
        _reported.add(problem)
        access.LOG.warning("operator access: %s", problem)
    st.warning(
        "Operator sign-in is not fully configured on this server: its log says what to fix.", icon=":material/warning:"
    )


def operator_panel(settings: access.AccessSettings, rights: access.Access) -> None:
    who = f" — {rights.who}" if settings.mode == access.LOGIN else ""
    st.success(f"**Operator**{who} ({rights.how})", icon=":material/verified_user:")
    st.caption("You can launch and cancel runs, submit Azure ML jobs and call the paid cloud services.")
    if settings.mode == access.LOGIN:
        if st.button("Sign out", key="access-sign-out", icon=":material/logout:"):
            st.logout()
    elif settings.mode == access.PASSWORD:
        st.button("Sign out", key="access-sign-out", icon=":material/logout:", on_click=forget_password)


def viewer_panel(settings: access.AccessSettings, rights: access.Access) -> None:
    needs = {
        access.LOGIN: "signing in with an operator e-mail",
        access.PASSWORD: "the operator password",
        access.LOCKED: "authentication (below)",
    }[settings.mode]
    st.info(
        f"**Viewer** — you can browse every page and score tweets with the local models; operator "
        f"actions (launching or cancelling runs, Azure ML jobs, paid cloud calls) need {needs}.",
        icon=":material/visibility:",
    )
    if settings.mode == access.LOGIN:
        login_buttons(rights)
    elif settings.mode == access.PASSWORD:
        password_form()
    else:
        st.warning(
            f"Operator actions are off: this server listens on "
            f"`{settings.server_address or 'every interface'}` and has no authentication. "
            f"{access.HOW_TO_CONFIGURE}",
            icon=":material/lock:",
        )


def login_buttons(rights: access.Access) -> None:
    if rights.who:  # signed in, but not as an operator
        st.caption(f"Signed in as {rights.who}: {rights.reason}.")
        if st.button("Sign out", key="access-sign-out", icon=":material/logout:"):
            st.logout()
        return
    ready = importlib.util.find_spec("authlib") is not None
    if not ready:
        st.warning("Login is configured but Authlib is not installed: `pip install 'Authlib>=1.3.2'`.")
    for provider in login_providers(auth_section()):
        label = f"Sign in with {provider.capitalize()}" if provider else "Sign in"
        if st.button(label, key=f"access-login-{provider or 'default'}", icon=":material/login:", disabled=not ready):
            st.login(provider)


def login_providers(auth: Mapping) -> list[str | None]:
    """Named providers (`[auth.microsoft]`…), or [None] for a provider set in `[auth]` itself."""
    named = [name for name, value in auth.items() if isinstance(value, Mapping) and "client_id" in value]
    return named or [None]


def password_form() -> None:
    with st.form("access-password-form", clear_on_submit=True, border=False):
        st.text_input("Operator password", type="password", key=PASSWORD_WIDGET_KEY)
        st.form_submit_button("Sign in as operator", icon=":material/key:", on_click=try_password)
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.error(message, icon=":material/block:")


def try_password() -> None:
    """Form callback: runs before the script, so the whole run already sees the new role."""
    settings = access_settings()
    attempt = st.session_state.get(PASSWORD_WIDGET_KEY) or ""
    st.session_state[PASSWORD_WIDGET_KEY] = ""  # not kept in the session, right or wrong
    token = st.session_state.setdefault(SESSION_TOKEN_KEY, secrets.token_hex(16))
    result = access.check_password(attempt, settings.password, token)
    if result.ok:
        st.session_state[PROOF_KEY] = access.password_proof(settings.password)
    else:
        st.session_state[MESSAGE_KEY] = result.message


def forget_password() -> None:
    st.session_state.pop(PROOF_KEY, None)
