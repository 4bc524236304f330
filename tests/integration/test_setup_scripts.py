"""The README's two commands, tested without a venv, pip, apt or root: the real scripts run against stub tools.

- scripts/debian_packages.sh runs with a PATH holding only stubs (`dpkg`, `apt-get`, `sudo`, `id`) and links to
  the few real tools it needs, so the real apt-get can never be reached; each stub appends its argv to a log.
- scripts/setup.sh runs in a copy of the project with a stub Python (its venv's python is a stub too) and the
  same stub Debian tools first on PATH.
- scripts/start.sh, scripts/test.sh and .ci/run run in a copy of the project with a stub setup.sh and a stub
  .venv/bin/python.
- shellcheck lints every script (it fails rather than skips under CI=true when shellcheck is missing).

The whole module takes a few seconds.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
BASH = shutil.which("bash") or "/bin/bash"
PACKAGES = ["wordnet-base", "wamerican", "chromium"]

STUBS = {
    # dpkg -s PKG: installed when PKG is in $STUB_INSTALLED, known but removed when in $STUB_REMOVED.
    "dpkg": r"""#!/bin/sh
echo "dpkg $*" >> "$STUB_LOG"
if [ "$1" = -s ]; then
  case " $STUB_INSTALLED " in *" $2 "*) printf 'Package: %s\nStatus: install ok installed\n' "$2"; exit 0;; esac
  case " $STUB_REMOVED " in *" $2 "*) printf 'Package: %s\nStatus: deinstall ok config-files\n' "$2"; exit 0;; esac
  echo "dpkg-query: package '$2' is not installed" >&2; exit 1
fi
""",
    # apt-get: records DEBIAN_FRONTEND too; `update` fails when STUB_UPDATE_FAILS=1, `install` of a package in
    # $STUB_UNKNOWN fails.
    "apt-get": r"""#!/bin/sh
echo "apt-get DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-unset} $*" >> "$STUB_LOG"
[ "$1" = update ] && [ "${STUB_UPDATE_FAILS:-0}" = 1 ] && exit 100
if [ "$1" = install ]; then
  for p in "$@"; do
    case " $STUB_UNKNOWN " in *" $p "*) echo "E: Unable to locate package $p" >&2; exit 100;; esac
  done
fi
exit 0
""",
    # sudo: `sudo -n ...` fails unless STUB_SUDO_NOPASSWD=1 (a password would be needed); otherwise runs the
    # command after its options.
    "sudo": r"""#!/bin/sh
echo "sudo $*" >> "$STUB_LOG"
[ "$1" = -n ] && [ "${STUB_SUDO_NOPASSWD:-0}" != 1 ] && { echo "sudo: a password is required" >&2; exit 1; }
while [ "$#" -gt 0 ]; do case $1 in -*) shift;; *) break;; esac; done
exec "$@"
""",
    "id": r"""#!/bin/sh
[ "$1" = -u ] && { echo "${STUB_UID:-0}"; exit 0; }
echo "uid=${STUB_UID:-0}"
""",
}
REAL_TOOLS = ["env", "true"]  # env runs apt-get (DEBIAN_FRONTEND=...), true is what `sudo -n true` runs


def write_exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def stub_bin(tmp_path: Path, stubs=("dpkg", "apt-get", "sudo", "id"), real=tuple(REAL_TOOLS)) -> Path:
    """A folder to be the whole PATH: the named stubs and links to the named real tools, nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in stubs:
        write_exe(bin_dir / name, STUBS[name])
    for name in real:
        (bin_dir / name).symlink_to(shutil.which(name))
    return bin_dir


def base_env(tmp_path: Path, path: str, **extra: str) -> dict[str, str]:
    env = {"PATH": path, "STUB_LOG": str(tmp_path / "calls.log"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def debian_packages(tmp_path: Path, *packages: str, stubs=("dpkg", "apt-get", "sudo", "id"), **env: str):
    bin_dir = stub_bin(tmp_path, stubs)
    result = subprocess.run(
        [BASH, str(SCRIPTS / "debian_packages.sh"), *packages],
        env=base_env(tmp_path, str(bin_dir), **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, calls(tmp_path)


DPKG_QUERIES = [f"dpkg -s {p}" for p in PACKAGES]
UPDATE = "apt-get DEBIAN_FRONTEND=noninteractive update -qq"
INSTALL = "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq " + " ".join(PACKAGES)


# --- scripts/debian_packages.sh --------------------------------------------------------------------------------


def test_root_installs_the_missing_packages_with_apt_get(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="0")
    assert result.returncode == 0, result.stderr
    assert log == DPKG_QUERIES + [UPDATE, INSTALL]
    assert "installing Debian packages: wordnet-base wamerican chromium" in result.stdout


def test_a_user_with_sudo_installs_through_sudo(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="1000", STUB_SUDO_NOPASSWD="1")
    assert result.returncode == 0, result.stderr
    assert log == DPKG_QUERIES + [
        "sudo -n true",
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        UPDATE,
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq " + " ".join(PACKAGES),
        INSTALL,
    ]


def test_a_user_whose_sudo_needs_a_password_without_a_terminal_is_told_what_degrades(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="1000")
    assert result.returncode == 0
    assert log == DPKG_QUERIES + ["sudo -n true"]
    assert "sudo needs a password but there is no terminal" in result.stderr
    assert_degradations_named(result.stderr)


def test_a_user_without_sudo_is_told_what_is_missing_and_what_degrades(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, stubs=("dpkg", "apt-get", "id"), STUB_UID="1000")
    assert result.returncode == 0
    assert log == DPKG_QUERIES
    assert "not running as root and sudo is not installed" in result.stderr
    assert_degradations_named(result.stderr)


def assert_degradations_named(message: str) -> None:
    assert "not installing the Debian packages: wordnet-base wamerican chromium" in message
    assert "without wordnet-base: the offline WordNet stand-in is missing: NLTK downloads its own" in message
    assert "without wamerican: /usr/share/dict/words" in message
    assert "without chromium: the browser test (tests/browser/test_browser.py) cannot run" in message
    assert "sudo apt-get install wordnet-base wamerican chromium" in message


def test_packages_already_there_call_no_apt_get(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="1000", STUB_INSTALLED=" ".join(PACKAGES))
    assert result.returncode == 0
    assert log == DPKG_QUERIES
    assert result.stdout == result.stderr == ""


def test_only_the_missing_packages_are_installed_and_removed_ones_count_as_missing(tmp_path):
    result, log = debian_packages(
        tmp_path, *PACKAGES, STUB_UID="0", STUB_INSTALLED="wordnet-base", STUB_REMOVED="wamerican"
    )
    assert result.returncode == 0, result.stderr
    assert log == DPKG_QUERIES + [UPDATE, "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq wamerican chromium"]


def test_no_apt_get_on_path_says_so_and_calls_nothing_else(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, stubs=("dpkg", "sudo", "id"), STUB_UID="0")
    assert result.returncode == 0
    assert log == DPKG_QUERIES  # only the queries: no sudo, no installer
    assert "apt-get is not available" in result.stderr
    assert_degradations_named(result.stderr)


def test_no_dpkg_and_no_apt_get_at_all(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, stubs=("sudo", "id"), STUB_UID="1000")
    assert result.returncode == 0
    assert log == []
    assert "apt-get is not available" in result.stderr
    assert_degradations_named(result.stderr)


def test_an_unknown_package_does_not_keep_the_others_out(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="0", STUB_UNKNOWN="chromium")
    assert result.returncode == 0
    assert log == DPKG_QUERIES + [UPDATE, INSTALL] + [
        f"apt-get DEBIAN_FRONTEND=noninteractive install -y -qq {p}" for p in PACKAGES
    ]
    assert "not installing the Debian packages: chromium" in result.stderr
    assert "without chromium: the browser test" in result.stderr
    assert "without wamerican" not in result.stderr


def test_a_failed_apt_get_update_still_tries_the_install(tmp_path):
    result, log = debian_packages(tmp_path, *PACKAGES, STUB_UID="0", STUB_UPDATE_FAILS="1")
    assert result.returncode == 0
    assert log == DPKG_QUERIES + [UPDATE, INSTALL]
    assert "apt-get update failed" in result.stderr


def test_no_package_named_is_a_usage_error(tmp_path):
    result, log = debian_packages(tmp_path)
    assert result.returncode == 2
    assert "usage" in result.stderr and log == []


# --- scripts/setup.sh: the venv and pip step, with a stub Python ----------------------------------------------

STUB_PYTHON = r"""#!/bin/sh
# A system Python: `-c CODE` succeeds unless CODE imports ensurepip and STUB_NO_ENSUREPIP=1; `-m venv DIR` makes
# DIR/bin/python (a stub that logs pip calls) or fails like Debian's Python without python3.11-venv.
echo "python $*" >> "$STUB_LOG"
if [ "$1" = -c ]; then
  case $2 in
    *ensurepip*) [ "${STUB_NO_ENSUREPIP:-0}" = 1 ] && exit 1 ;;
    *version_info*) echo 3.11; exit 0 ;;
  esac
  exit 0
fi
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  if [ "${STUB_NO_ENSUREPIP:-0}" = 1 ]; then
    echo "The virtual environment was not created successfully because ensurepip is not available." >&2
    exit 1
  fi
  printf '#!/bin/sh\necho "venv-python $*" >> "$STUB_LOG"\n' > "$3/bin/python"
  chmod +x "$3/bin/python"
fi
"""


def project_copy(tmp_path: Path, *scripts: str) -> Path:
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    for name in scripts:
        shutil.copy2(SCRIPTS / name, proj / "scripts" / name)
    for name in ("requirements.txt", "requirements-dev.txt"):
        shutil.copy2(ROOT / name, proj / name)
    return proj


def run_setup(tmp_path: Path, proj: Path, **env: str) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        stub_bin(tmp_path, real=())
        write_exe(bin_dir / "python3.11", STUB_PYTHON)
    env = base_env(tmp_path, f"{bin_dir}:{os.environ['PATH']}", PYTHON=str(bin_dir / "python3.11"), **env)
    return subprocess.run(
        [BASH, "scripts/setup.sh"],
        cwd=proj,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def pip_calls(tmp_path: Path) -> list[str]:
    return [c for c in calls(tmp_path) if c.startswith("venv-python -m pip")]


def test_setup_installs_once_and_a_second_run_installs_nothing(tmp_path):
    proj = project_copy(tmp_path, "setup.sh", "debian_packages.sh")
    first = run_setup(tmp_path, proj)
    assert first.returncode == 0, first.stderr
    assert "python -m venv .venv" in calls(tmp_path)
    pip = "venv-python -m pip -qq --disable-pip-version-check --no-input install"
    assert pip_calls(tmp_path) == [f"{pip} --upgrade pip", f"{pip} -r requirements.txt"]
    (tmp_path / "calls.log").unlink()
    second = run_setup(tmp_path, proj)
    assert second.returncode == 0, second.stderr
    assert pip_calls(tmp_path) == [] and "python -m venv .venv" not in calls(tmp_path)
    assert not any(c.startswith("apt-get") for c in calls(tmp_path))


def test_after_the_test_requirements_start_has_nothing_to_install(tmp_path):
    proj = project_copy(tmp_path, "setup.sh", "debian_packages.sh")
    assert run_setup(tmp_path, proj, BADBUZZ_REQUIREMENTS="requirements-dev.txt").returncode == 0
    assert pip_calls(tmp_path)[-1].endswith("-r requirements-dev.txt")
    (tmp_path / "calls.log").unlink()
    assert run_setup(tmp_path, proj).returncode == 0
    assert pip_calls(tmp_path) == []
    # A changed requirements file installs again.
    with open(proj / "requirements.txt", "a") as fh:
        fh.write("\n# changed\n")
    assert run_setup(tmp_path, proj).returncode == 0
    assert pip_calls(tmp_path)[-1].endswith("-r requirements.txt")


def test_setup_without_pythons_venv_module_asks_apt_for_it_then_says_what_is_missing(tmp_path):
    proj = project_copy(tmp_path, "setup.sh", "debian_packages.sh")
    result = run_setup(tmp_path, proj, STUB_UID="0", STUB_NO_ENSUREPIP="1")
    assert result.returncode == 1
    assert "apt-get DEBIAN_FRONTEND=noninteractive install -y -qq python3.11-venv" in calls(tmp_path)
    assert "sudo apt-get install python3.11-venv" in result.stderr
    assert not (proj / ".venv").exists(), "a half-made .venv would pass for a working one next time"
    assert pip_calls(tmp_path) == []


def test_setup_hands_its_debian_packages_to_debian_packages_sh(tmp_path):
    proj = project_copy(tmp_path, "setup.sh", "debian_packages.sh")
    result = run_setup(tmp_path, proj, STUB_UID="1000", BADBUZZ_APT_PACKAGES="wordnet-base wamerican")
    assert result.returncode == 0, result.stderr
    assert "dpkg -s wordnet-base" in calls(tmp_path) and "dpkg -s wamerican" in calls(tmp_path)
    assert "without wamerican" in result.stderr  # sudo needs a password, no terminal: degrades and goes on
    assert len(pip_calls(tmp_path)) == 2


# --- scripts/start.sh, scripts/test.sh, .ci/run ----------------------------------------------------------------

STUB_VENV_PYTHON = r"""#!/bin/sh
if [ "$1 $2" = "-m core.commands.quickstart" ]; then
  echo "quickstart $*" >> "$STUB_LOG"; echo "quickstart output"; sleep "${STUB_QUICKSTART_S:-0}"
  echo "quickstart done" >> "$STUB_LOG"; exit 0
fi
echo "python BADBUZZ_EXPOSE=${BADBUZZ_EXPOSE:-unset} $*" >> "$STUB_LOG"
exit "${STUB_RC:-0}"
"""
STUB_SETUP = r"""#!/bin/sh
echo "setup BADBUZZ_REQUIREMENTS=${BADBUZZ_REQUIREMENTS:-unset} BADBUZZ_APT_PACKAGES=$BADBUZZ_APT_PACKAGES" >> "$STUB_LOG"
"""


def launcher_copy(tmp_path: Path, quickstart: bool = True) -> Path:
    proj = tmp_path / "proj"
    for name in ("start.sh", "test.sh"):
        write_exe(proj / "scripts" / name, (SCRIPTS / name).read_text())
    write_exe(proj / "scripts" / "setup.sh", STUB_SETUP)
    write_exe(proj / ".ci" / "run", (ROOT / ".ci" / "run").read_text())
    write_exe(proj / ".venv" / "bin" / "python", STUB_VENV_PYTHON)
    if quickstart:
        (proj / "core" / "commands").mkdir(parents=True)
        (proj / "core" / "commands" / "quickstart.py").write_text("")
    return proj


def run_in(tmp_path: Path, proj: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    env = base_env(tmp_path, os.environ["PATH"], **env)
    return subprocess.run(
        [BASH, *command], cwd=proj, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )


def streamlit_call(tmp_path: Path) -> str:
    (call,) = [c for c in calls(tmp_path) if c.startswith("python ")]
    return call


START = "-m streamlit run serve.py"


@pytest.mark.parametrize(
    "args, env, expected",
    [
        ([], {}, f"BADBUZZ_EXPOSE=0 {START} --server.address 127.0.0.1 --server.port 8501"),
        (["--network"], {}, f"BADBUZZ_EXPOSE=1 {START} --server.address 0.0.0.0 --server.port 8501"),
        ([], {"BADBUZZ_EXPOSE": "1"}, f"BADBUZZ_EXPOSE=1 {START} --server.address 0.0.0.0 --server.port 8501"),
        # ../shared/tools/fresh-clone-start's arguments: the caller's address and port win, even over --network.
        (
            ["--network", "--server.port", "9000", "--server.address", "127.0.0.1", "--server.headless", "true"],
            {},
            f"BADBUZZ_EXPOSE=0 {START} --server.port 9000 --server.address 127.0.0.1 --server.headless true",
        ),
        (
            ["--server.address=0.0.0.0", "--theme.base", "dark"],
            {},
            f"BADBUZZ_EXPOSE=1 {START} --server.address=0.0.0.0 --theme.base dark --server.port 8501",
        ),
    ],
)
def test_start_listens_locally_unless_told_and_passes_the_rest_to_streamlit(tmp_path, args, env, expected):
    proj = launcher_copy(tmp_path)
    result = run_in(tmp_path, proj, "scripts/start.sh", *args, **env)
    assert result.returncode == 0, result.stderr
    assert streamlit_call(tmp_path) == f"python {expected}"
    assert calls(tmp_path)[0] == "setup BADBUZZ_REQUIREMENTS=unset BADBUZZ_APT_PACKAGES=wordnet-base wamerican"
    assert not any(c.startswith("quickstart") for c in calls(tmp_path))
    assert ("operator actions" in result.stderr) == ("BADBUZZ_EXPOSE=1" in expected)


@pytest.mark.parametrize("flag, env", [("--demo", {}), (None, {"BADBUZZ_DEMO": "1"})])
def test_demo_trains_the_quick_baselines_in_the_background(tmp_path, flag, env):
    proj = launcher_copy(tmp_path)
    result = run_in(tmp_path, proj, "scripts/start.sh", *([flag] if flag else []), STUB_QUICKSTART_S="2", **env)
    assert result.returncode == 0, result.stderr
    assert streamlit_call(tmp_path).endswith(f"{START} --server.address 127.0.0.1 --server.port 8501")
    assert "quickstart done" not in calls(tmp_path), "start.sh waited for the quick baselines"
    deadline = time.time() + 20
    while "quickstart done" not in calls(tmp_path) and time.time() < deadline:
        time.sleep(0.1)
    assert "quickstart -m core.commands.quickstart --if-no-runs" in calls(tmp_path)
    assert (proj / "artifacts" / "quickstart.log").read_text() == "quickstart output\n"


def test_demo_without_quickstart_module_says_so_and_starts(tmp_path):
    proj = launcher_copy(tmp_path, quickstart=False)
    result = run_in(tmp_path, proj, "scripts/start.sh", "--demo")
    assert result.returncode == 0
    assert "core/commands/quickstart.py is missing" in result.stderr
    assert streamlit_call(tmp_path).endswith(f"{START} --server.address 127.0.0.1 --server.port 8501")


def test_start_help_starts_nothing(tmp_path):
    proj = launcher_copy(tmp_path)
    result = run_in(tmp_path, proj, "scripts/start.sh", "--help")
    assert result.returncode == 0 and "--network" in result.stdout and "--demo" in result.stdout
    assert calls(tmp_path) == []


def test_ci_runs_the_test_command_and_keeps_its_exit_code(tmp_path):
    proj = launcher_copy(tmp_path)
    result = run_in(tmp_path, proj, ".ci/run", STUB_RC="3")
    assert result.returncode == 3
    packages = "wordnet-base wamerican chromium fonts-dejavu-core shellcheck postgresql"
    assert calls(tmp_path) == [
        f"setup BADBUZZ_REQUIREMENTS=requirements-dev.txt BADBUZZ_APT_PACKAGES={packages}",
        "python BADBUZZ_EXPOSE=unset -m pytest -q -p no:cacheprovider",
    ]


# --- shellcheck ------------------------------------------------------------------------------------------------


def test_shellcheck_finds_nothing():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        message = "shellcheck is not installed (scripts/test.sh installs it: apt-get install shellcheck)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    files = sorted(str(p.relative_to(ROOT)) for p in SCRIPTS.glob("*.sh")) + [".ci/run"]
    result = subprocess.run([shellcheck, *files], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
