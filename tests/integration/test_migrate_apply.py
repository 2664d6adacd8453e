"""`switchman migrate aci --apply` on a real platform: the v1 keys keep working after the move."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import joblib
import pytest
from sklearn.linear_model import LogisticRegression

from tests.support.migrate import SCORE_PY, V1_PRIMARY, V1_SECONDARY
from tests.support.platform import Platform, running_platform

pytestmark = pytest.mark.integration

ROWS = [[0.0, 0.1], [1.0, 0.9], [0.2, 0.0], [0.9, 1.0]]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("home")) as running:
        yield running


def _v1_service(root: Path) -> tuple[Path, Path, Path]:
    """A v1 ACI service as its owner kept it: deploymentconfig.json, inferenceconfig.json, src/."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "score.py").write_text(SCORE_PY)
    model = LogisticRegression().fit(ROWS, [0, 1, 0, 1])
    joblib.dump(model, root / "model.pkl")
    dc = root / "deploymentconfig.json"
    dc.write_text(
        json.dumps(
            {
                "computeType": "ACI",
                "containerResourceRequirements": {"cpu": 1, "memoryInGB": 1},
                "authEnabled": True,
                "keys": {"primaryKey": V1_PRIMARY, "secondaryKey": V1_SECONDARY},
                "location": "westeurope",
                "dnsNameLabel": "iris-v1",
                "appInsightsEnabled": False,
            }
        )
    )
    python = f"python={sys.version_info.major}.{sys.version_info.minor}"
    ic = root / "inferenceconfig.json"
    ic.write_text(
        json.dumps(
            {
                "entryScript": "score.py",
                "sourceDirectory": "src",
                "environment": {
                    "name": "sklearn-env",
                    "version": "1",
                    "python": {
                        "userManagedDependencies": False,
                        "condaDependencies": {
                            "channels": ["conda-forge"],
                            "dependencies": [
                                python,
                                {"pip": ["azureml-defaults", "scikit-learn", "joblib"]},
                            ],
                        },
                    },
                    "environmentVariables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
                },
            }
        )
    )
    return dc, ic, root / "model.pkl"


def test_apply_keeps_the_v1_keys_working(platform: Platform, tmp_path: Path) -> None:
    dc, ic, model = _v1_service(tmp_path / "v1")
    out = tmp_path / "out"
    done = platform.run(
        "migrate",
        "aci",
        "--deployment-config",
        str(dc),
        "--inference-config",
        str(ic),
        "--model",
        str(model),
        "--endpoint-name",
        "iris-migrated",
        "--deployment-name",
        "blue",
        "--output-dir",
        str(out),
        "--apply",
    )
    summary = json.loads(done.stdout)
    assert summary["applied"] is True and summary["auth_mode"] == "key"
    assert summary["instance_type"] == "Standard_DS1_v2"
    uri = summary["scoring_uri"]
    assert uri == platform.json("online-endpoint", "show", "-n", "iris-migrated")["scoring_uri"]
    assert platform.json("online-endpoint", "show", "-n", "iris-migrated")["traffic"] == {
        "blue": 100
    }

    body = json.dumps({"data": ROWS}).encode()
    expected = joblib.load(model).predict(ROWS).tolist()
    for key in (V1_PRIMARY, V1_SECONDARY):
        answer = httpx.post(
            uri,
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            timeout=30,
            trust_env=False,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
        assert answer.headers["azureml-model-deployment"] == "blue"
    wrong = httpx.post(
        uri, content=body, headers={"Authorization": "Bearer not-the-v1-key"}, trust_env=False
    )
    assert wrong.status_code == 401
    report = (out / "MIGRATION.md").read_text()
    assert f"Scoring URI: {uri}" in report and "`dnsNameLabel`" in report
    assert V1_PRIMARY not in report


def test_failed_apply_leaves_nothing_behind(platform: Platform, tmp_path: Path) -> None:
    dc, ic, _ = _v1_service(tmp_path / "v1")
    done = platform.run(
        "migrate",
        "aci",
        "--dc",
        str(dc),
        "--ic",
        str(ic),
        "--model",
        "not-registered:3",
        "-e",
        "half-made",
        "--output-dir",
        str(tmp_path / "out"),
        "--apply",
        check=False,
    )
    assert done.returncode == 1
    assert "not-registered" in done.stderr and "deleted endpoint 'half-made'" in done.stderr
    assert "Traceback" not in done.stderr
    names = [e["name"] for e in platform.json("online-endpoint", "list")]
    assert "half-made" not in names
    assert "Apply failed" in (tmp_path / "out" / "MIGRATION.md").read_text()
