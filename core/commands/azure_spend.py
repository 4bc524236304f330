"""`python -m core.commands.azure_spend [--set-budget N]`: Azure AI Language usage this month, the monthly budget in
text records, the price and the reservations held (core.azure.spend, the guard every call goes through)."""

from __future__ import annotations

from dataclasses import dataclass

from core.azure.spend import SpendGuard, month_key
from core.cli.fields import option
from core.cli.parser import parse_options
from core.logs import configure_cli_logging


@dataclass(kw_only=True)
class SpendOptions:
    set_budget: int | None = option(None, "monthly budget in text records")

    def __post_init__(self) -> None:
        if self.set_budget is not None and self.set_budget < 0:
            raise ValueError("--set-budget must be 0 or more")


def main(argv: list[str] | None = None) -> None:
    options = parse_options(SpendOptions, argv, __doc__)
    configure_cli_logging()
    guard = SpendGuard()
    if options.set_budget is not None:
        guard.set_budget(options.set_budget)
    usage, price = guard.usage(), guard.price
    print(
        f"month {month_key()}: {usage['text_records']:,} text records, {usage['documents']:,} documents, "
        f"{usage['requests']:,} requests, ≈ ${usage['cost_usd']:.4f}"
    )
    print(f"budget: {guard.budget():,} text records per month ({guard.path})")
    for entry in guard.reservations().values():
        print(f"reserved: {entry['text_records']:,} text records by pid {entry['pid']} on {entry['host']}")
    print(
        f"price: ${price.usd_per_1000_records} per 1,000 text records after {price.free_records_per_month:,} "
        f"free per month (source: {price.source}, {price.as_of})"
    )


if __name__ == "__main__":
    main()
