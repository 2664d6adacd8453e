"""`switchman migrate aci|aks` through the CLI: summary output, bad input → exit 1, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from switchman.cli.main import main
from tests.support.migrate import TESTDATA, V1Folder, write_v1


def _run(
    folder: V1Folder, *extra: str, kind: str = "aci", source: str = "--deployment-config"
) -> int:
    return main(
        [
            "migrate",
            kind,
            source,
            str(folder.deployment_config),
            "--inference-config",
            str(folder.inference_config),
            "--output-dir",
            str(folder.out),
            *extra,
        ]
    )


def test_prints_the_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_v1(
        tmp_path,
        {"computeType": "ACI", "containerResourceRequirements": {"cpu": 2, "memoryInGB": 3}},
    )
    rc = _run(folder, "--model", str(folder.model), "-e", "iris-v2", "--deployment-name", "green")
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["endpoint"] == "iris-v2" and data["deployment"] == "green"
    assert data["instance_type"] == "Standard_DS2_v2" and data["auth_mode"] == "key"
    assert data["applied"] is False and "scoring_uri" not in data
    assert sorted(Path(f).name for f in data["files"]) == [
        "MIGRATION.md",
        "deployment.yml",
        "endpoint.yml",
    ]
    assert any("no auth" in w for w in data["warnings"])


def test_query_and_output_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_v1(tmp_path)
    rc = _run(
        folder,
        "--model",
        str(folder.model),
        "-e",
        "iris-v2",
        "--query",
        "instance_type",
        "-o",
        "tsv",
    )
    assert rc == 0
    assert capsys.readouterr().out.strip() == "Standard_DS1_v2"


def test_aks_service_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_v1(tmp_path)
    shutil.copy(TESTDATA / "aks-service.json", folder.deployment_config)
    rc = _run(folder, kind="aks", source="--service-json")
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["endpoint"] == "aks-churn" and data["auth_mode"] == "aml_token"
    assert data["scale_hint"]["max_instances"] == 6
    assert data["v1_scoring_uri"].endswith("/aks-churn/score")


BAD = [
    ("missing deployment config", "missing", "does not exist"),
    (
        "malformed json",
        '{"computeType": "ACI",\n  "authEnabled": tru }',
        "not valid JSON: Expecting value at line 2, column 18",
    ),
    ("json array", "[1, 2]", "must hold a JSON object"),
    ("wrong compute type", '{"computeType": "AKS"}', "switchman migrate aks"),
    ("unknown compute type", '{"computeType": "AMLCOMPUTE"}', "cannot be migrated"),
]


@pytest.mark.parametrize(("label", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_deployment_configs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, content: str, message: str
) -> None:
    folder = write_v1(tmp_path)
    if content == "missing":
        folder.deployment_config.unlink()
    else:
        folder.deployment_config.write_text(content)
    rc = _run(folder, "--model", str(folder.model), "-e", "iris-v2")
    err = capsys.readouterr().err
    assert rc == 1
    assert message in err and "deploymentconfig.json" in err
    assert "Traceback" not in err
    assert not folder.out.exists()


def test_bad_model_and_entry_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_v1(tmp_path)
    assert _run(folder, "--model", str(tmp_path / "nope.pkl"), "-e", "iris-v2") == 1
    assert "nope.pkl does not exist" in capsys.readouterr().err
    folder.inference_config.write_text('{"entryScript": "missing.py", "sourceDirectory": "src"}')
    assert _run(folder, "--model", str(folder.model), "-e", "iris-v2") == 1
    err = capsys.readouterr().err
    assert "inferenceconfig.json" in err and "missing.py" in err
    assert not folder.out.exists()


def test_malformed_inference_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_v1(tmp_path)
    folder.inference_config.write_text('{"entryScript": "score.py"')
    assert _run(folder, "--model", str(folder.model), "-e", "iris-v2") == 1
    err = capsys.readouterr().err
    assert "inferenceconfig.json is not valid JSON" in err and "line 1, column" in err


def test_deployment_config_and_service_json_are_exclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_v1(tmp_path)
    with pytest.raises(SystemExit) as exc:
        _run(folder, "--service-json", str(folder.deployment_config))
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_apply_without_a_platform_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHMAN_HOME", str(tmp_path / "home"))
    folder = write_v1(tmp_path)
    assert _run(folder, "--model", str(folder.model), "-e", "iris-v2", "--apply") == 1
    assert "switchman up" in capsys.readouterr().err
    assert not folder.out.exists()
