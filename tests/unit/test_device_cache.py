"""The device probe's answer is reused by the next dashboard server on the same environment (so its sidebar shows
the devices at once), never when it is stale, from another environment, or when a probe ran out of time."""

from __future__ import annotations

import json

import pytest

from core.tracking import devices


@pytest.fixture
def probes(monkeypatch):
    """Framework probes that answer at once (the real ones import TensorFlow and PyTorch); counts the calls."""
    calls = []

    def probe(name):
        calls.append(name)
        return devices.FrameworkView(name, True, "1.0")

    monkeypatch.setattr(devices, "_probe", probe)
    devices._device_summary.cache_clear()
    yield calls
    devices._device_summary.cache_clear()


def test_a_recent_probe_of_this_environment_answers_without_probing(probes):
    first = devices.device_summary()
    assert len(probes) == 2 and devices._cache_path().is_file()
    devices._device_summary.cache_clear()  # a new server process
    again = devices.device_summary(recent=True)
    assert len(probes) == 2 and again.headline == first.headline and again.frameworks == first.frameworks
    devices._device_summary.cache_clear()
    devices.device_summary()  # the command line (not `recent`) probes afresh
    assert len(probes) == 4


@pytest.mark.parametrize("change", ["stale", "other python"])
def test_a_stale_or_foreign_answer_is_probed_again(probes, change):
    devices.device_summary()
    cached = json.loads(devices._cache_path().read_text())
    if change == "stale":
        cached["at"] -= devices.CACHE_TTL_S + 1
    else:
        cached["environment"]["python"] = "/another/python"
    devices._cache_path().write_text(json.dumps(cached))
    devices._device_summary.cache_clear()
    devices.device_summary(recent=True)
    assert len(probes) == 4


def test_a_probe_that_ran_out_of_time_is_not_kept(monkeypatch, probes):
    monkeypatch.setattr(
        devices, "_probe", lambda name: devices.FrameworkView(name, False, error="probe took over 60 s")
    )
    devices.device_summary()
    assert not devices._cache_path().exists()
