"""`switchman studio` opens a browser only where a desktop is present."""

from __future__ import annotations

import pytest

from switchman.cli import studio


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, False),
        ("linux", {"DISPLAY": ":0"}, True),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True),
        ("darwin", {}, True),
        ("win32", {}, True),
    ],
)
def test_has_desktop(
    monkeypatch: pytest.MonkeyPatch, platform: str, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(studio.sys, "platform", platform)
    assert studio.has_desktop() is expected


def test_studio_without_a_running_platform_is_one_paragraph(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from switchman.cli.main import main

    monkeypatch.setenv("SWITCHMAN_HOME", str(tmp_path))
    assert main(["studio"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: Switchman is not running") and "Traceback" not in err
