"""Helpers for the `switchman migrate` tests: v1 service folders written into a temporary folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.migrate import Migration, MigrationRequest, convert, load_inputs

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "migrate"

SCORE_PY = (TESTDATA / "src" / "score.py").read_text()
V1_PRIMARY = "v1-primary-key-0123456789abcdef"
V1_SECONDARY = "v1-secondary-key-0123456789abcd"


@dataclass
class V1Folder:
    """A v1 service on disk: deployment config, inference config, source folder, model file."""

    root: Path
    deployment_config: Path
    inference_config: Path
    model: Path
    out: Path


def inference_config(**extra: Any) -> dict[str, Any]:
    """The smallest v1 inference config: entry script in src/."""
    return {"entryScript": "score.py", "sourceDirectory": "src", **extra}


def write_v1(
    tmp: Path,
    deployment: dict[str, Any] | None = None,
    inference: dict[str, Any] | None = None,
    *,
    score: str = SCORE_PY,
) -> V1Folder:
    """Write a v1 service folder under ``tmp`` (ACI deployment config by default)."""
    root = tmp / "v1"
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "score.py").write_text(score)
    model = root / "model.pkl"
    model.write_bytes(b"not really a model")
    dc = root / "deploymentconfig.json"
    dc.write_text(json.dumps(deployment if deployment is not None else {"computeType": "ACI"}))
    ic = root / "inferenceconfig.json"
    ic.write_text(json.dumps(inference if inference is not None else inference_config()))
    return V1Folder(root, dc, ic, model, tmp / "out")


def migrate(
    folder: V1Folder,
    kind: str = "aci",
    *,
    service_json: bool = False,
    model: str | None = "model.pkl",
    endpoint: str | None = "my-endpoint",
    deployment: str = "blue",
    keys_file: Path | None = None,
) -> Migration:
    """Convert ``folder`` as `switchman migrate KIND` would (the deployment config file is read
    as a service JSON when ``service_json``)."""
    inputs = load_inputs(
        kind,  # type: ignore[arg-type]
        inference_config=folder.inference_config,
        deployment_config=None if service_json else folder.deployment_config,
        service_json=folder.deployment_config if service_json else None,
        keys_file=keys_file,
    )
    return convert(
        MigrationRequest(
            inputs=inputs,
            endpoint_name=endpoint,
            deployment_name=deployment,
            model=model,
            output_dir=folder.out,
            cwd=folder.root,
        )
    )


def outcome(migration: Migration, setting: str) -> tuple[str, str, str]:
    """(outcome, target, reason) of the one ledger entry for ``setting``."""
    found = [e for e in migration.ledger.entries if e.setting == setting]
    assert len(found) == 1, f"{setting}: {found}"
    return found[0].outcome, found[0].target, found[0].reason
