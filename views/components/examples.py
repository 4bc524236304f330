"""Example tweets the Live scoring page offers as one-click buttons (airline complaints and praise, mixed)."""

from __future__ import annotations

EXAMPLE_TWEETS = [
    "Flight delayed 4 hours and nobody at the gate will tell us anything. Never flying Air Paradis again.",
    "Lost my luggage AGAIN. Third time this year. @AirParadis this is unacceptable",
    "The crew on my flight to Tahiti were amazing, upgraded us for our honeymoon! Thank you Air Paradis",
    "Smooth landing, on time, and the coffee was actually good. I could get used to this",
    "Sat on the tarmac for two hours with no AC. Kids crying, staff shrugging.",
    "not bad for a budget airline tbh, legroom was fine and boarding was quick",
]
BUTTON_CHARS = 60  # an example's button shows its start; the whole text is the button's tooltip


def button_label(example: str) -> str:
    return example[:BUTTON_CHARS] + ("…" if len(example) > BUTTON_CHARS else "")
