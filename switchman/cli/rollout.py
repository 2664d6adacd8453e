"""Safe-rollout commands: `online-endpoint rollout`, `online-deployment replay`, `monitor shadow`.

Registered by the command groups through small hooks (``register_rollout``, ``register_replay``,
``register_shadow``) so the groups' modules stay as they were.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from switchman.cli.common import client
from switchman.errors import BadArgumentError, SwitchmanError


def register_rollout(leaf: Any) -> None:
    """`switchman online-endpoint rollout [show|cancel] -n EP --to DEP ...`."""
    p = leaf("rollout", cmd_rollout, "Shift traffic to a deployment step by step, gated.")
    p.add_argument("action", nargs="?", choices=["start", "show", "cancel"], default="start")
    p.add_argument("-n", "--name", required=True, help="Endpoint name.")
    p.add_argument("--to", help="Deployment to roll out.")
    p.add_argument("--steps", default="10,25,50,100", help="Percent steps, e.g. 10,25,50,100.")
    p.add_argument("--bake", default="60s", help="Time to watch each step, e.g. 60s, 2m.")
    p.add_argument("--max-error-rate", type=float, help="Percent of requests that may fail.")
    p.add_argument("--max-p99-ms", type=float, help="Highest p99 latency in ms.")
    p.add_argument(
        "--min-agreement", type=float, help="Percent of mirrored answers that must match."
    )
    p.add_argument("--min-requests", type=int, help="Requests a gate needs (default 10).")
    p.add_argument("--mirror-percent", type=int, help="Mirrored share in the shadow step.")
    p.add_argument("--no-wait", action="store_true", help="Start it and return.")
    p.add_argument("--timeout", type=float, default=3600.0, help=argparse.SUPPRESS)


def cmd_rollout(args: argparse.Namespace) -> Any:
    c = client()
    if args.action == "show":
        return c.get_rollout(args.name)
    if args.action == "cancel":
        c.cancel_rollout(args.name)
        return _wait(c, args.name, args.timeout, quiet=True)
    if not args.to:
        raise BadArgumentError(
            "online-endpoint rollout needs --to <deployment>, e.g. "
            f"`switchman online-endpoint rollout -n {args.name} --to green --steps 10,50,100`."
        )
    spec: dict[str, Any] = {"to": args.to, "steps": args.steps, "bake": args.bake}
    for flag in ("max_error_rate", "max_p99_ms", "min_agreement", "min_requests", "mirror_percent"):
        value = getattr(args, flag)
        if value is not None:
            spec[flag] = value
    state = c.start_rollout(args.name, spec)
    if args.no_wait:
        return state
    return _wait(c, args.name, args.timeout)


def _wait(c: Any, endpoint: str, timeout: float, *, quiet: bool = False) -> Any:
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        state = c.get_rollout(endpoint)
        label = f"{state['state']} {state.get('percent', 0)}%"
        if label != seen and not quiet:
            sys.stderr.write(f"rollout of {state['to']}: {label}\n")
            seen = label
        if state["state"] not in ("waiting", "shadow", "step"):
            break
        if time.monotonic() > deadline:
            raise SwitchmanError(
                f"The rollout on {endpoint!r} is still {state['state']} after {timeout:.0f} s; "
                f"see `switchman online-endpoint rollout show -n {endpoint}`.",
                code="OperationTimedOut",
            )
        time.sleep(0.25)
    if state["state"] in ("succeeded", "cancelled") or quiet:
        return state
    from switchman.cli.output import emit

    emit(state, "json", None)
    sys.stderr.write(
        f"ERROR: The rollout of {state['to']!r} on {endpoint!r} ended {state['state']}: "
        f"{state.get('reason') or 'see the events'}. Traffic is back to "
        f"{_split(state['previous_traffic'])}; `switchman monitor events -e {endpoint}` has "
        "every step and verdict.\n"
    )
    return 1


def _split(traffic: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in traffic.items()) or "none"


def register_replay(leaf: Any) -> None:
    """`switchman online-deployment replay -e EP -n DEP --from PATH [--rate N] [--compare-with D]`."""
    p = leaf("replay", cmd_replay, "Send recorded requests to a deployment; compare answers.")
    p.add_argument("-e", "--endpoint-name", required=True, help="Endpoint name.")
    p.add_argument("-n", "--name", required=True, help="Deployment that gets the requests.")
    p.add_argument("--from", dest="source", required=True, help="Collected data or a capture.")
    p.add_argument("--rate", type=float, default=20.0, help="Requests per second (default 20).")
    p.add_argument("--compare-with", help="Compare with this deployment instead of the record.")
    p.add_argument("--max-requests", type=int, default=1000, help="Send at most this many.")
    p.add_argument("--concurrency", type=int, default=8, help=argparse.SUPPRESS)


def cmd_replay(args: argparse.Namespace) -> Any:
    from switchman.rollout.replay import load, replay

    if args.rate <= 0 or args.max_requests <= 0:
        raise BadArgumentError("--rate and --max-requests must be greater than 0.")
    items = load(Path(args.source), args.max_requests)
    c = client()
    endpoint = c.get_endpoint(args.endpoint_name)
    known = {d["name"] for d in c.list_deployments(args.endpoint_name)}
    for name in filter(None, (args.name, args.compare_with)):
        if name not in known:
            raise BadArgumentError(
                f"Endpoint {args.endpoint_name!r} has no deployment {name!r}; deployments: "
                f"{', '.join(sorted(known)) or 'none'}."
            )
    if args.compare_with is None and all(i.response is None for i in items):
        raise BadArgumentError(
            f"--from {args.source!r} has no recorded responses to compare with; enable the "
            "`response` collection, or pass --compare-with <deployment>."
        )
    from switchman.cli.endpoint import bearer

    token = bearer(c, endpoint)
    import httpx

    http = httpx.Client(timeout=200.0, trust_env=False)

    def send(deployment: str, body: bytes) -> tuple[int, bytes, float]:
        headers = {"Content-Type": "application/json", "azureml-model-deployment": deployment}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        t0 = time.perf_counter()
        try:
            response = http.post(endpoint["scoring_uri"], content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SwitchmanError(f"Could not reach {endpoint['scoring_uri']}: {exc}.") from None
        return response.status_code, response.content, (time.perf_counter() - t0) * 1000.0

    try:
        return [
            replay(
                items,
                send,
                target=args.name,
                compare_with=args.compare_with,
                rate=args.rate,
                concurrency=args.concurrency,
            )
        ]
    finally:
        http.close()


def register_shadow(sub: Any) -> None:
    """`switchman monitor shadow -e EP [--since 15m]`."""
    from switchman.cli.main import add_common

    p = sub.add_parser("shadow", help="Live vs mirror answer agreement per deployment pair.")
    p.add_argument("-e", "--endpoint-name", required=True, help="Endpoint name.")
    p.add_argument("--since", default="15m", help="How far back: 30s, 15m, 2h, 7d (default 15m).")
    add_common(p)
    p.set_defaults(func=cmd_shadow)


def cmd_shadow(args: argparse.Namespace) -> Any:
    from switchman.cli.monitor import _db, parse_since
    from switchman.home import Home
    from switchman.rollout import shadowstore

    conn = sqlite3.connect(_db(Home.from_env()), timeout=10)
    try:
        return shadowstore.reports(conn, args.endpoint_name, time.time() - parse_since(args.since))
    finally:
        conn.close()
