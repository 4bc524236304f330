"""The alert rules: a threshold on the negative share and a minimum volume per group and window, a volume spike,
a cool-down. Set by the watcher's options, overridden per group by a JSON rules file:

    {"window": "15min", "threshold": 0.6, "min_volume": 20, "spike_factor": 3, "spike_min": 30,
     "cooldown": "60min", "groups": {"United": {"threshold": 0.5, "min_volume": 10}}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import pandas as pd

SHARE = "negative share"
SPIKE = "volume spike"
RULES = (SHARE, SPIKE)
NO_GROUP = "(all)"  # the one group when no group column is chosen


class RulesError(ValueError):
    """Settings that cannot work (a window that is not a duration, a threshold outside 0..1)."""


@dataclass(frozen=True)
class GroupRule:
    """What one group alerts on."""

    threshold: float = 0.6  # negative share (0..1) at or above which a window alerts
    min_volume: int = 20  # fewer scored tweets in a window never alert on share (one angry tweet is not a buzz)
    spike_factor: float = 3.0  # a window's volume >= spike_factor x the group's trailing median...
    spike_min: int = 30  # ...and >= spike_min tweets is a volume spike; spike_factor 0 turns the rule off


@dataclass(frozen=True)
class Rules:
    window: str = "15min"
    cooldown: str = "60min"  # an open episode also ends this long (event time) after its window
    history: int = 8  # windows behind the trailing median of the volume
    default: GroupRule = field(default_factory=GroupRule)
    groups: dict[str, GroupRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("window", "cooldown"):
            try:
                if pd.Timedelta(getattr(self, name)) <= pd.Timedelta(0):
                    raise ValueError
            except ValueError:
                raise RulesError(f"{name} must be a positive duration such as 15min or 1h") from None
        for rule in (self.default, *self.groups.values()):
            if not 0 < rule.threshold <= 1:
                raise RulesError("a threshold is a share of negative tweets between 0 and 1 (0.6 = 60%)")
            if rule.min_volume < 1 or rule.spike_min < 1 or rule.spike_factor < 0:
                raise RulesError("min_volume and spike_min are at least 1, spike_factor at least 0")

    @property
    def window_delta(self) -> pd.Timedelta:
        return pd.Timedelta(self.window)

    @property
    def cooldown_delta(self) -> pd.Timedelta:
        return pd.Timedelta(self.cooldown)

    def rule_for(self, group: str) -> GroupRule:
        return self.groups.get(group, self.default)

    def to_json(self) -> dict:
        return asdict(self)


def rules_from_json(data: dict, base: Rules | None = None) -> Rules:
    """Rules from a dict (the rules file, or the store's copy): missing keys keep `base`'s values."""
    base = base or Rules()
    if not isinstance(data, dict):
        raise RulesError("the rules file holds one JSON object")
    default = _group_rule(data.get("default", data), base.default)
    groups = {str(name): _group_rule(rule, default) for name, rule in (data.get("groups") or {}).items()}
    top = {k: data[k] for k in ("window", "cooldown", "history") if k in data}
    return replace(base, default=default, groups={**base.groups, **groups}, **top)


def _group_rule(data: dict, base: GroupRule) -> GroupRule:
    if not isinstance(data, dict):
        raise RulesError('a group\'s rule is a JSON object such as {"threshold": 0.5, "min_volume": 10}')
    known = {f.name: f.type for f in fields(GroupRule)}
    try:
        values = {k: (int if known[k] == "int" else float)(v) for k, v in data.items() if k in known}
    except (TypeError, ValueError):
        raise RulesError("threshold, min_volume, spike_factor and spike_min are numbers") from None
    return replace(base, **values)


def load_rules(path: Path, base: Rules) -> Rules:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"cannot read the rules file {path}: {exc.strerror or type(exc).__name__}") from None
    except ValueError:
        raise RulesError(f"the rules file {path} is not valid JSON") from None
    return rules_from_json(data, base)
