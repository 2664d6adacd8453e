"""data_collector end to end: router payload capture and score.py's Collector, joined by request id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.platform import Platform
from tests.support.proc import wait_for
from tests.support.rollout import body, create, records

pytestmark = pytest.mark.integration

COLLECTOR = {
    "sampling_rate": 1.0,
    "rolling_rate": "Hour",
    "collections": {
        "request": {"enabled": "True"},
        "response": {"enabled": "True"},
        "model_inputs": {"enabled": "True"},
        "model_outputs": {"enabled": "True"},
    },
    "request_logging": {"capture_headers": ["x-test-tag"]},
}


def test_collections_are_written_in_hourly_folders_with_the_request_id(
    platform: Platform, tmp_path: Path
) -> None:
    ep = "collect-ep"
    platform.run("online-endpoint", "create", "-n", ep)
    create(platform, tmp_path, ep, "blue", data_collector=COLLECTOR, all_traffic=True)
    key = platform.key(ep)
    sent: dict[str, tuple[bytes, bytes]] = {}
    for i in range(5):
        response = platform.score(ep, body(i), key=key, headers={"x-test-tag": f"t{i}"})
        assert response.status_code == 200, response.text
        sent[response.headers["x-request-id"]] = (body(i), response.content)
    root = platform.home / "data-collection" / ep / "blue"

    def all_written() -> bool:
        return all(
            len(records(root, c)) >= 5
            for c in ("request", "response", "model_inputs", "model_outputs")
        )

    wait_for(all_written, timeout=20, what="records of all four collections")
    layout = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/[^/]+\.jsonl$")
    for collection in ("request", "response", "model_inputs", "model_outputs"):
        files = list((root / collection).rglob("*.jsonl"))
        assert files and all(layout.match(str(f.relative_to(root / collection))) for f in files), (
            files
        )
    requests = {r["correlationid"]: r for r in records(root, "request")}
    responses = {r["correlationid"]: r for r in records(root, "response")}
    inputs = {r["correlationid"]: r for r in records(root, "model_inputs")}
    outputs = {r["correlationid"]: r for r in records(root, "model_outputs")}
    assert set(sent) <= set(requests) & set(responses) & set(inputs) & set(outputs)
    import json

    for rid, (request_body, response_body) in sent.items():
        assert requests[rid]["data"] == json.loads(request_body)
        assert requests[rid]["time"].endswith("Z")
        assert requests[rid]["headers"]["x-test-tag"].startswith("t")
        assert responses[rid]["data"] == json.loads(response_body)
        assert responses[rid]["statuscode"] == 200
        assert inputs[rid]["data"] == json.loads(request_body)["data"]
        assert outputs[rid]["data"] == json.loads(response_body)


def test_sampling_rate_zero_writes_nothing_and_bad_settings_are_refused(
    platform: Platform, tmp_path: Path
) -> None:
    ep = "nocollect-ep"
    platform.run("online-endpoint", "create", "-n", ep)
    off = {"sampling_rate": 0.0, "collections": {"request": {"enabled": "True"}}}
    create(platform, tmp_path, ep, "blue", data_collector=off, all_traffic=True)
    key = platform.key(ep)
    assert platform.score(ep, body(1), key=key).status_code == 200
    bad = tmp_path / "bad.yml"
    bad.write_text(
        (tmp_path / "blue.yml").read_text().replace("sampling_rate: 0.0", "sampling_rate: 7")
    )
    done = platform.run(
        "online-deployment", "create", "-e", ep, "-n", "green", "-f", str(bad), check=False
    )
    assert done.returncode != 0
    assert "sampling_rate" in done.stderr and "Traceback" not in done.stderr
    assert not (platform.home / "data-collection" / ep).exists()
