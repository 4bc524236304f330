"""`python -m core.commands.devices`: what this machine offers for training (CPU cores, memory, the GPUs that
TensorFlow and PyTorch each see), probed as the dashboard's sidebar probes it (core.tracking.devices)."""

from __future__ import annotations

from dataclasses import dataclass

from core.cli.parser import parse_options
from core.tracking.devices import device_summary


@dataclass(kw_only=True)
class DevicesOptions:
    """No options: the command only reports."""


def main(argv: list[str] | None = None) -> None:
    parse_options(DevicesOptions, argv, __doc__)
    summary = device_summary()
    print(summary.headline)
    for view in summary.frameworks.values():
        print(" ", view.describe())


if __name__ == "__main__":
    main()
