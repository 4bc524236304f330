"""(Re-)export a succeeded transformer run to ONNX, check it on validation tweets and decide what it serves; or,
with --serve, override that decision (core.models.onnx_export, core.models.serving).

    python -m core.commands.export_onnx --run RUN            # (re-)export, check, decide
    python -m core.commands.export_onnx --run RUN --serve int8|fp32|pytorch|auto [--why TEXT]

Expected failures end with one line, `error: …`, and exit status 2.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from pathlib import Path

from core.cli.fields import option
from core.cli.parser import expected_failures, parse_options
from core.logs import configure_cli_logging
from core.models import serving


@dataclass(kw_only=True)
class ExportOptions:
    run: Path = option(help="a succeeded transformer run folder")
    check_texts: int = option(1000, "validation tweets to check against")
    int8: bool = option(True, "also write the int8 model")
    serve: str | None = option(
        None,
        "operator override: serve this backend (auto: back to the rule); exports nothing",
        choices=serving.SERVE_CHOICES,
    )
    why: str = option("", "why the override (kept in run.json)")
    by: str | None = option(None, "who overrides (default: user@host, from the command line)")


def command_line_user() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()} (command line)"


def main(argv: list[str] | None = None) -> None:
    options = parse_options(ExportOptions, argv, __doc__)
    configure_cli_logging()
    with expected_failures(serving.ServingError):
        if options.serve:
            record = serving.set_serving(options.run, options.serve, options.by or command_line_user(), options.why)
            print(
                f"serving backend: {record['label']} ({record['decided_by']}; the rule chose {record['rule_choice']})"
            )
        else:
            from core.models.onnx_export import reexport  # PyTorch and ONNX Runtime: only to export

            reexport(options.run, options.check_texts, options.int8)


if __name__ == "__main__":
    main()
