"""Bad input gets one clear paragraph, a non-zero exit code, and nothing half-created."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.platform import Platform, running_platform

pytestmark = pytest.mark.integration


def fails(platform: Platform, *args: str) -> str:
    done = platform.run(*args, check=False)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("ERROR: ") or "error:" in done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def ready(platform: Platform, example_dir: Path) -> Platform:
    platform.run("online-endpoint", "create", "-n", "bad-input-ep")
    return platform


def test_invalid_names(ready: Platform) -> None:
    assert "at least 3 and at most 32" in fails(ready, "online-endpoint", "create", "-n", "ab")
    assert "must start with an upper- or lowercase letter" in fails(
        ready, "online-endpoint", "create", "-n", "1-bad"
    )
    assert "must start with an upper- or lowercase letter" in fails(
        ready, "online-endpoint", "create", "-n", "bad-"
    )


def test_unknown_key_names_key_file_and_line(ready: Platform, tmp_path: Path) -> None:
    spec = tmp_path / "endpoint.yml"
    spec.write_text("name: typo-ep\nauth_mod: key\n")
    err = fails(ready, "online-endpoint", "create", "-f", str(spec))
    assert "auth_mod" in err and str(spec) in err and "line 2" in err


def test_yaml_syntax_error_names_file_and_line(ready: Platform, tmp_path: Path) -> None:
    spec = tmp_path / "endpoint.yml"
    spec.write_text("name: syntax-ep\ntags: [unclosed\n")
    err = fails(ready, "online-endpoint", "create", "-f", str(spec))
    assert str(spec) in err and "line" in err


def test_traffic_sum_and_unknown_deployments(ready: Platform) -> None:
    err = fails(
        ready, "online-endpoint", "update", "-n", "bad-input-ep", "--traffic", "blue=90 green=20"
    )
    assert "0 or 100" in err
    err = fails(ready, "online-endpoint", "update", "-n", "bad-input-ep", "--traffic", "nosuch=100")
    assert "nosuch" in err
    err = fails(
        ready, "online-endpoint", "update", "-n", "bad-input-ep", "--mirror-traffic", "nosuch=60"
    )
    assert "50" in err


def _deployment(tmp_path: Path, example_dir: Path, **changes: str) -> Path:
    text = (
        (example_dir / "blue-deployment.yml")
        .read_text()
        .replace("endpoint_name: my-endpoint", "endpoint_name: bad-input-ep")
    )
    for old, new in changes.items():
        text = text.replace(old, new)
    folder = tmp_path / "dep"
    if not folder.exists():
        shutil.copytree(example_dir, folder, ignore=shutil.ignore_patterns("*.yml"))
    out = folder / "deployment.yml"
    out.write_text(text)
    return out


def test_missing_code_script_and_model(ready: Platform, example_dir: Path, tmp_path: Path) -> None:
    err = fails(
        ready,
        "online-deployment",
        "create",
        "-f",
        str(_deployment(tmp_path, example_dir, **{"model-1/onlinescoring/": "nowhere/"})),
    )
    assert "nowhere" in err
    err = fails(
        ready,
        "online-deployment",
        "create",
        "-f",
        str(_deployment(tmp_path, example_dir, **{"score.py": "missing.py"})),
    )
    assert "missing.py" in err
    err = fails(
        ready,
        "online-deployment",
        "create",
        "-f",
        str(_deployment(tmp_path, example_dir, **{"model-1/model/": "no-model/"})),
    )
    assert "no-model" in err
    assert ready.json("online-deployment", "list", "-e", "bad-input-ep") == []


def test_deployment_for_missing_endpoint(ready: Platform, example_dir: Path) -> None:
    err = fails(
        ready,
        "online-deployment",
        "create",
        "-f",
        str(example_dir / "blue-deployment.yml"),
        "-e",
        "no-such-ep",
    )
    assert "no-such-ep" in err and "does not exist" in err


def test_unknown_sku_lists_close_matches(
    ready: Platform, example_dir: Path, tmp_path: Path
) -> None:
    path = _deployment(tmp_path, example_dir, **{"Standard_DS3_v2": "Standard_DS3_v3"})
    err = fails(ready, "online-deployment", "create", "-f", str(path))
    assert "Standard_DS3_v3" in err and "Standard_DS3_v2" in err


def test_duplicate_create(ready: Platform) -> None:
    err = fails(ready, "online-endpoint", "create", "-n", "bad-input-ep")
    assert "already exists" in err


def test_second_up_on_the_same_home(ready: Platform) -> None:
    err = fails(ready, "up")
    assert "already running" in err


def test_commands_without_a_platform(tmp_path: Path) -> None:
    idle = Platform(tmp_path / "idle-home")
    err = fails(idle, "online-endpoint", "list")
    assert "switchman up" in err


def test_syntax_error_in_scoring_script(ready: Platform, example_dir: Path, tmp_path: Path) -> None:
    path = _deployment(tmp_path, example_dir)
    (path.parent / "model-1" / "onlinescoring" / "score.py").write_text("def init(:\n    pass\n")
    err = fails(ready, "online-deployment", "create", "-f", str(path))
    assert "syntax errors in scoring script" in err and "line 1" in err


def test_platform_start_failure_is_reported(tmp_path: Path) -> None:
    # A port in use is refused with the port named, before anything starts.
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        idle = Platform(tmp_path / "busy-home")
        try:
            err = fails(idle, "up", "--port", str(port), "--api-port", "0")
            assert str(port) in err
        finally:
            idle.run("down", check=False)


def test_failing_init_marks_deployment_failed_with_the_script_error(
    ready: Platform, example_dir: Path, tmp_path: Path
) -> None:
    path = _deployment(tmp_path, example_dir, **{"name: blue": "name: broken"})
    (path.parent / "model-1" / "onlinescoring" / "score.py").write_text(
        "def init():\n    raise ValueError('model file is corrupt: expected 10 features')\n\ndef run(data):\n    return data\n"
    )
    err = fails(ready, "online-deployment", "create", "-f", str(path))
    assert "model file is corrupt" in err
    assert "AZUREML_MODEL_DIR contains" in err and "sklearn_regression_model.pkl" in err
    view = ready.json("online-deployment", "show", "-n", "broken", "-e", "bad-input-ep")
    assert view["provisioning_state"] == "Failed"
    assert view["error"]["code"] == "UserScriptInitFailed"
    logs = ready.run("online-deployment", "get-logs", "-n", "broken", "-e", "bad-input-ep").stdout
    assert "model file is corrupt" in logs


with_platform = running_platform  # re-exported for modules that need their own home
