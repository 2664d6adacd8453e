"""Shadow comparison, record & replay, and gated rollout with auto-rollback, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.platform import Platform
from tests.support.proc import wait_for
from tests.support.rollout import Load, body, create

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GATES = ["--max-error-rate", "1", "--max-p99-ms", "5000", "--min-requests", "5"]


def _endpoint(platform: Platform, tmp_path: Path, ep: str, candidate: str) -> tuple[str, str]:
    platform.run("online-endpoint", "create", "-n", ep)
    create(platform, tmp_path, ep, "blue", "good", all_traffic=True)
    create(platform, tmp_path, ep, "green", candidate)
    uri = platform.json("online-endpoint", "show", "-n", ep)["scoring_uri"]
    return uri, platform.key(ep)


def _events(platform: Platform, ep: str) -> list[str]:
    return [e["name"] for e in platform.json("monitor", "events", "-e", ep)]


def test_shadow_pairs_live_and_mirrored_answers(platform: Platform, tmp_path: Path) -> None:
    ep = "shadow-ep"
    _, key = _endpoint(platform, tmp_path, ep, "offset")
    platform.run("online-endpoint", "update", "-n", ep, "--mirror-traffic", "green=50")
    for i in range(40):
        response = platform.score(ep, body(i), key=key)
        assert response.status_code == 200
        assert response.headers["azureml-model-deployment"] == "blue"  # live answers only

    def report() -> dict | None:
        found = platform.json("monitor", "shadow", "-e", ep)
        return found[0] if found and found[0]["pairs"] >= 10 else None

    shadow = wait_for(report, timeout=30, what="shadow pairs in monitor shadow")
    assert (shadow["live"], shadow["shadow"]) == ("blue", "green")
    assert shadow["exact_match_rate"] == 0.0
    assert shadow["status_agreement_rate"] == 1.0
    assert 1.4 <= shadow["abs_diff_p50"] <= 1.6 and 1.4 <= shadow["abs_diff_p99"] <= 1.6
    assert shadow["live_latency_ms_p50"] > 0 and shadow["shadow_latency_ms_p99"] > 0
    table = platform.run("monitor", "shadow", "-e", ep, "-o", "table").stdout
    assert ("green" in table and "exact_match_rate" in table.replace(" ", "_")) or "Exact" in table
    via_api = platform.client().shadow_reports(ep)
    assert via_api[0]["pairs"] >= shadow["pairs"]


def test_a_good_model_rolls_out_to_100(platform: Platform, tmp_path: Path) -> None:
    ep = "roll-good"
    uri, key = _endpoint(platform, tmp_path, ep, "good")
    with Load(uri, key):
        done = platform.run(
            "online-endpoint", "rollout", "-n", ep, "--to", "green", "--steps", "50,100",
            "--bake", "2s", *GATES, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["state"] == "succeeded" and state["percent"] == 100
    assert platform.json("online-endpoint", "show", "-n", ep)["traffic"] == {
        "blue": 0,
        "green": 100,
    }
    names = _events(platform, ep)
    assert names.count("RolloutStep") == 2 and "RolloutSucceeded" in names
    assert platform.json("online-endpoint", "rollout", "show", "-n", ep)["state"] == "succeeded"
    for args, needle in (
        (("--to", "green", "--steps", "50,10"), "steps"),
        ((), "--to"),
        (("--to", "nope"), "no deployment 'nope'"),
        (("--to", "green"), "already has 100%"),
    ):
        bad = platform.run("online-endpoint", "rollout", "-n", ep, *args, check=False)
        assert bad.returncode != 0 and needle in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    missing = platform.run("online-endpoint", "rollout", "show", "-n", "no-such-ep", check=False)
    assert missing.returncode != 0 and "no-such-ep" in missing.stderr


def test_a_model_failing_5_percent_is_rolled_back_at_the_first_step(
    platform: Platform, tmp_path: Path
) -> None:
    ep = "roll-flaky"
    uri, key = _endpoint(platform, tmp_path, ep, "flaky")
    with Load(uri, key):
        done = platform.run(
            "online-endpoint", "rollout", "-n", ep, "--to", "green", "--steps", "10,50,100",
            "--bake", "30s", *GATES, check=False,
        )  # fmt: skip
    assert done.returncode != 0
    assert "rolled_back" in done.stderr and "error rate" in done.stderr
    assert "Traceback" not in done.stderr
    state = platform.json("online-endpoint", "rollout", "show", "-n", ep)
    assert state["state"] == "rolled_back" and state["step"] == 0
    assert platform.json("online-endpoint", "show", "-n", ep)["traffic"] == {
        "blue": 100,
        "green": 0,
    }
    assert "RolloutRolledBack" in _events(platform, ep)


def test_different_answers_are_caught_by_the_agreement_gate(
    platform: Platform, tmp_path: Path
) -> None:
    ep = "roll-offset"
    uri, key = _endpoint(platform, tmp_path, ep, "offset")
    with Load(uri, key):
        done = platform.run(
            "online-endpoint", "rollout", "-n", ep, "--to", "green", "--steps", "10,100",
            "--bake", "30s", "--min-agreement", "99", *GATES, check=False,
        )  # fmt: skip
    assert done.returncode != 0 and "agreement" in done.stderr
    state = platform.json("online-endpoint", "rollout", "show", "-n", ep)
    assert state["state"] == "rolled_back" and state["step"] == -1  # the shadow step
    view = platform.json("online-endpoint", "show", "-n", ep)
    assert view["traffic"] == {"blue": 100, "green": 0} and not view.get("mirror_traffic")


def test_replay_of_collected_traffic_reproduces_the_recorded_answers(
    platform: Platform, tmp_path: Path
) -> None:
    ep = "replay-ep"
    collector = {"collections": {"request": {"enabled": "True"}, "response": {"enabled": "True"}}}
    platform.run("online-endpoint", "create", "-n", ep)
    create(platform, tmp_path, ep, "blue", "good", data_collector=collector, all_traffic=True)
    create(platform, tmp_path, ep, "green", "good")
    create(platform, tmp_path, ep, "red", "offset")
    key = platform.key(ep)
    for i in range(12):
        assert platform.score(ep, body(i), key=key).status_code == 200
    source = platform.home / "data-collection" / ep / "blue"
    wait_for(
        lambda: (
            len(list((source / "response").rglob("*.jsonl"))) > 0
            and sum(len(p.read_text().splitlines()) for p in (source / "response").rglob("*.jsonl"))
            >= 12
        ),
        timeout=20,
        what="collected responses",
    )
    args = ("online-deployment", "replay", "-e", ep, "--from", str(source), "--rate", "50")
    (same,) = platform.json(*args, "-n", "green")
    assert (same["live"], same["shadow"]) == ("recorded", "green")
    assert same["requests"] == 12 and same["pairs"] == 12 and same["exact_match_rate"] == 1.0
    (differs,) = platform.json(*args, "-n", "red", "--compare-with", "green")
    assert (differs["live"], differs["shadow"]) == ("green", "red")
    assert differs["exact_match_rate"] == 0.0 and 1.4 <= differs["abs_diff_p50"] <= 1.6
    bad = platform.run(*args[:-2], "--rate", "0", "-n", "green", check=False)
    assert bad.returncode != 0 and "--rate" in bad.stderr
