"""The data sources a dashboard visitor may choose, and the uploads that add to them.

Pages never open a path typed into them. Data reaches the dashboard only through:
- the configured default (`$BADBUZZ_DATA`, else the shared sample beside the project),
- the official archive downloaded into the data folder, and any CSV or zip an operator put in that folder,
- files uploaded from the browser, stored under `<data folder>/uploads/<sha256>.csv|zip` (size-limited),
- the analysts' corrections (`core.data.corrections`), exported as `<data folder>/corrections/corrections.csv`
  once one of them is negative or positive: an evaluation set or extra training data like any labelled CSV.
A value coming from a page is accepted only if it names one of these, after symlinks and `..` are resolved;
anything else is refused before it is opened. The command line keeps accepting any path.

The source chosen on a page is remembered in `<data folder>/dashboard_source.json`, so an upload or a download
is still the dashboard's data after a restart.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core import config
from core.data import corrections
from core.files import write_atomic

DATA_SUFFIXES = (".csv", ".zip")
MAX_ZIP_RATIO = 100  # CSV text compresses 3-10 times; a zip bomb by thousands
ZIP_RATIO_FROM = 10 << 20  # the ratio is judged once a member has expanded past this
DEFAULT_MAX_UPLOAD_MB = 300  # Streamlit's server.maxUploadSize in .streamlit/config.toml says the same
REMEMBERED = "dashboard_source.json"
OFFICIAL_KEY = "sentiment140"  # "download the official set" on the Train page


class SourceRefused(Exception):
    """A value from a page that names no allowed data source. The message never quotes a file."""


@dataclass(frozen=True)
class DataSource:
    key: str  # what trainers get as --data: a path, or `archive.zip:member.csv`
    label: str  # what a page shows
    origin: str  # "configured", "official", "data folder", "upload", "corrections"

    @property
    def path(self) -> Path:
        return Path(self.key.split(".zip:")[0] + (".zip" if ".zip:" in self.key else ""))


def uploads_dir() -> Path:
    return config.data_dir() / "uploads"


def max_upload_bytes() -> int:
    return int(float(os.environ.get("BADBUZZ_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)) * 1024 * 1024)


# ------------------------------------------------------------------ the allowed sources


def allowed_sources() -> list[DataSource]:
    """Every source a page may offer, most relevant first; one entry per file (and zip member)."""
    seen, sources = set(), []
    for source in (*_configured(), *_official(), *_uploads(), *_data_folder(), *_corrections()):
        identity = (_real(source.path), source.key.partition(".zip:")[2])
        if identity[0] is not None and identity not in seen:
            seen.add(identity)
            sources.append(source)
    return sources


def _configured() -> list[DataSource]:
    sources = []
    if os.environ.get("BADBUZZ_DATA"):
        path = os.environ["BADBUZZ_DATA"]
        sources.append(DataSource(path, f"Configured data ({Path(path).name})", "configured"))
    if config.SHARED_SAMPLE.exists():
        sources.append(DataSource(str(config.SHARED_SAMPLE), "Shared 90k sample of Sentiment140", "configured"))
    return sources


def _official() -> list[DataSource]:
    archive = config.data_dir() / config.OFFICIAL_ZIP_NAME
    if not archive.is_file():
        return []
    return [
        DataSource(str(archive), "Sentiment140, official training set (1.6 M tweets)", "official"),
        DataSource(
            f"{archive}:{config.OFFICIAL_TEST_NAME}", "Sentiment140, official hand-labelled test set", "official"
        ),
    ]


def _uploads() -> list[DataSource]:
    folder = uploads_dir()
    if not folder.is_dir():
        return []
    files = sorted(
        (p for p in folder.iterdir() if p.suffix in DATA_SUFFIXES and p.is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    return [DataSource(str(p), _upload_label(p), "upload") for p in files]


def _upload_label(path: Path) -> str:
    meta = _read_json(path.with_suffix(".json"))
    name = meta.get("name") or path.name
    when = meta.get("uploaded", "")[:16].replace("T", " ")
    rows = f", {meta['rows']:,} tweets" if meta.get("rows") else ""
    return f"Uploaded: {name} ({when}{rows})" if when else f"Uploaded: {name}{rows}"


def _data_folder() -> list[DataSource]:
    folder = config.data_dir()
    if not folder.is_dir():
        return []
    return [
        DataSource(str(p), f"Data folder: {p.name}", "data folder")
        for p in sorted(folder.iterdir())
        if p.suffix in DATA_SUFFIXES and p.is_file() and p.name != config.OFFICIAL_ZIP_NAME
    ]


def _corrections() -> list[DataSource]:
    path = corrections.export_path()  # kept up to date by every correction; absent while none is usable
    if not path.is_file():
        return []
    return [DataSource(str(path), "Analyst corrections (labelled in the monitor and Live scoring)", "corrections")]


def _real(path: Path) -> Path | None:
    """The resolved regular file behind a path, or None (missing, a folder, a device, /proc...)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real.is_file() and not _in_system_tree(real) else None


def _in_system_tree(path: Path) -> bool:
    return path.parts[1:2] in (("proc",), ("sys",), ("dev",))


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.is_relative_to(folder.resolve())
    except OSError:
        return False


def _trusted_location(source: DataSource) -> bool:
    """Uploads and data-folder files must really live in the data folder (no symlink out of it)."""
    real = _real(source.path)
    if real is None:
        return False
    if source.origin in ("upload", "data folder", "official", "corrections"):
        return _inside(real, config.data_dir())
    return True  # the operator configured it


def resolve_page_source(value: str | None) -> DataSource:
    """The allowed source a page value names, or SourceRefused. Nothing is opened before this check."""
    if not value or not str(value).strip():
        raise SourceRefused("no data source chosen: upload a CSV or download the official set")
    value = str(value).strip()
    for source in allowed_sources():
        if source.key == value and _trusted_location(source):
            return source
    raise SourceRefused(
        "the dashboard only opens its configured data, the downloaded official set and uploaded "
        "files; choose one of them (the command line accepts any path)"
    )


def page_sources() -> list[DataSource]:
    """The sources a page offers (all allowed, each in its trusted location)."""
    return [s for s in allowed_sources() if _trusted_location(s)]


# ------------------------------------------------------------------ uploads


def store_upload(filename: str, content: bytes) -> DataSource:
    """Keep an uploaded CSV or zip under the uploads folder, named by its content hash; it becomes the source.

    The file is checked by reading it as training data; a file that cannot be used is deleted and the
    DataError (which describes the layout, never the content) is raised.
    """
    from core.data.loading import DataError, load_dataset

    if len(content) > max_upload_bytes():
        raise DataError(
            f"the upload is {len(content) / 1e6:,.0f} MB; the limit is "
            f"{max_upload_bytes() / 1e6:,.0f} MB (BADBUZZ_MAX_UPLOAD_MB)"
        )
    if not content:
        raise DataError("the uploaded file is empty")
    suffix = ".zip" if content[:4] == b"PK\x03\x04" and not _looks_like_office(content) else ".csv"
    if suffix == ".zip":
        check_zip_upload(content, max_upload_bytes())  # before anything is written or expanded
    digest = hashlib.sha256(content).hexdigest()[:20]
    target = uploads_dir() / f"{digest}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomic(target, content)
        loaded = load_dataset(target)
    except BaseException as exc:  # a refused file never stays behind to be offered as a source
        target.unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise
        why = str(exc) if isinstance(exc, DataError) else f"it could not be read ({type(exc).__name__})"
        raise DataError(_without_paths(why, target, _safe_name(filename))) from None
    meta = {
        "name": _safe_name(filename),
        "uploaded": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": loaded.report.rows_kept,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    target.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    source = next(s for s in allowed_sources() if s.key == str(target))
    remember(source)
    return source


def check_zip_upload(content: bytes, limit: int) -> None:
    """DataError for a zip that expands past `limit` bytes in all, or more than MAX_ZIP_RATIO times its compressed
    size (past ZIP_RATIO_FROM bytes), or whose members cannot be read (encrypted, deflate64). The members are
    expanded as a stream, so a zip bomb costs a few MB of memory and stops at the first cap it passes."""
    from core.data.loading import DataError, check_zip_member

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = [info for info in zf.infolist() if not info.is_dir()]
            if sum(info.file_size for info in members) > limit:
                raise DataError(f"the zip expands to more than {limit / 2**20:,.0f} MiB (BADBUZZ_MAX_UPLOAD_MB)")
            expanded = 0
            for info in members:
                check_zip_member(info, "a member of the zip")
                expanded += _expanded_size(zf, info, limit - expanded)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, ValueError):
        raise DataError("the upload is not a readable zip archive (truncated, corrupt or encrypted)") from None


def _expanded_size(zf: zipfile.ZipFile, info: zipfile.ZipInfo, room: int) -> int:
    from core.data.loading import DataError

    size = 0
    with zf.open(info) as member:
        while chunk := member.read(1 << 20):
            size += len(chunk)
            if size > room:
                raise DataError("the zip expands to more than the upload limit (BADBUZZ_MAX_UPLOAD_MB)")
            if size > ZIP_RATIO_FROM and size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise DataError(f"the zip expands more than {MAX_ZIP_RATIO} times its size: refused as a zip bomb")
    return size


def _without_paths(message: str, target: Path, name: str) -> str:
    """An error about an upload, naming it as the visitor knows it, never by the server's paths."""
    for where in (str(target), target.name, str(target.parent), str(config.data_dir())):
        message = message.replace(where, name)
    return message


def _looks_like_office(content: bytes) -> bool:
    return b"[Content_Types].xml" in content[:2000]  # .xlsx/.docx are zips too: the reader refuses them


def _safe_name(filename: str) -> str:
    """The uploaded file's base name, for display only (never used as a path)."""
    name = re.sub(r"[^\w .()\-]+", "_", Path(str(filename)).name)[:80]
    return name or "upload"


# ------------------------------------------------------------------ the remembered choice


def remember(source: DataSource) -> None:
    folder = config.data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / REMEMBERED, json.dumps({"source": source.key}))


def dashboard_source() -> DataSource | None:
    """The source the dashboard opens with: the remembered choice, else the first allowed one."""
    sources = page_sources()
    remembered = _read_json(config.data_dir() / REMEMBERED).get("source")
    preferred = (
        [s for s in sources if s.key == remembered]
        + [s for s in sources if s.origin == "configured" and os.environ.get("BADBUZZ_DATA") == s.key]
        + [s for s in sources if s.origin == "official"]
        + sources
    )
    return preferred[0] if preferred else None


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def looks_like_server_path(value: str) -> bool:
    """True for a page value that would make a trainer open a file or folder of this server."""
    text = str(value).strip()
    if not text:
        return False
    if text[0] in "/~." or ".." in text or "\\" in text or "\0" in text:
        return True
    try:
        return Path(text).exists() or (config.PROJECT_ROOT / text).exists()
    except (OSError, ValueError):
        return True
