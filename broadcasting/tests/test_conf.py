"""conf.py holds every REALTIME default once; settings.py and docs/configuration.md follow it."""

import re

import environ
import pytest

from broadcasting import conf
from testing.live_server import PROJECT_DIR


def documented_defaults() -> dict[str, str]:
    table = (PROJECT_DIR / "docs" / "configuration.md").read_text()
    return dict(re.findall(r"^\| `REALTIME_([A-Z_]+)` \| `?([^`|]*?)`? \|", table, re.MULTILINE))


def as_documented(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return "empty"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_realtime_setting_is_documented_with_its_default():
    assert documented_defaults() == {name: as_documented(default) for name, default in conf.DEFAULTS.items()}


def test_settings_read_each_realtime_setting_from_its_variable_typed_by_its_default(monkeypatch):
    monkeypatch.setenv("REALTIME_BROADCAST", "0")
    monkeypatch.setenv("REALTIME_ALLOWED_ORIGINS", "https://a.example.com,https://b.example.com")
    monkeypatch.setenv("REALTIME_SEND_TIMEOUT_SECS", "2.5")
    monkeypatch.setenv("REALTIME_MAX_FRAME_BYTES", "1024")
    realtime = conf.from_environment(environ.Env())
    assert realtime.keys() == conf.DEFAULTS.keys()
    assert realtime["BROADCAST"] is False
    assert realtime["ALLOWED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]
    assert realtime["SEND_TIMEOUT_SECS"] == 2.5
    assert realtime["MAX_FRAME_BYTES"] == 1024
    assert realtime["HISTORY_MAX_EVENTS"] == conf.DEFAULTS["HISTORY_MAX_EVENTS"]


def test_an_unknown_setting_name_is_an_error():
    with pytest.raises(KeyError, match="NOT_A_SETTING"):
        conf.realtime_setting("NOT_A_SETTING")
