"""The rollout driver: an owned control-plane task that steps traffic and applies the gates.

State lives in the ``rollouts`` table (one row per endpoint: its latest rollout), so a restarted
control plane resumes a bake where it was (the clock is wall time) or leaves a rolled-back endpoint
as it is. The decisions are :func:`switchman.rollout.plan.decide`; this module only observes
(the router's ``traffic_log`` and ``shadow_stats``), applies traffic through the endpoint service
and records events. Declarative rollouts (``rollout:`` on the endpoint) start here too: a spec whose
hash differs from the endpoint's latest rollout starts a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from switchman.controlplane.routes import RoutePublisher
from switchman.controlplane.service import EndpointService
from switchman.controlplane.store import Store
from switchman.errors import BadArgumentError, ConflictError, NotFoundError
from switchman.home import Home
from switchman.rollout import shadowstore
from switchman.rollout.gate import Gates, Observation
from switchman.rollout.plan import Decision, PlanError, RolloutState, decide, split
from switchman.spec.rollout import RolloutSpec
from switchman.status import ProvisioningState

logger = logging.getLogger(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rollouts (endpoint TEXT PRIMARY KEY, state TEXT NOT NULL, "
    "record TEXT NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0, updated REAL)"
)


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class RolloutBook:
    """The ``rollouts`` table (own connection; safe from the API threads and the driver)."""

    home: Home

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.home.db_path, timeout=10)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute(SCHEMA)
        return conn

    def get(self, endpoint: str) -> tuple[RolloutState, bool] | None:
        conn = self._conn()
        try:
            row = conn.execute(
                "SELECT record, cancel_requested FROM rollouts WHERE endpoint = ?", (endpoint,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        return RolloutState.from_dict(json.loads(row[0])), bool(row[1])

    def all(self) -> list[tuple[RolloutState, bool]]:
        conn = self._conn()
        try:
            rows = conn.execute("SELECT record, cancel_requested FROM rollouts").fetchall()
        finally:
            conn.close()
        return [(RolloutState.from_dict(json.loads(r[0])), bool(r[1])) for r in rows]

    def put(self, state: RolloutState, *, new: bool = False) -> None:
        conn = self._conn()
        try:
            with conn:
                if new:
                    conn.execute(
                        "INSERT OR REPLACE INTO rollouts VALUES (?, ?, ?, 0, ?)",
                        (state.endpoint, state.phase, json.dumps(state.as_dict()), state.updated),
                    )
                else:
                    conn.execute(
                        "UPDATE rollouts SET state = ?, record = ?, updated = ? WHERE endpoint = ?",
                        (state.phase, json.dumps(state.as_dict()), state.updated, state.endpoint),
                    )
        finally:
            conn.close()

    def request_cancel(self, endpoint: str) -> None:
        conn = self._conn()
        try:
            with conn:
                conn.execute(
                    "UPDATE rollouts SET cancel_requested = 1 WHERE endpoint = ?", (endpoint,)
                )
        finally:
            conn.close()


def observe(home: Home, state: RolloutState) -> Observation:
    """What the target did since its phase began: traffic_log rows and shadow roll-ups."""
    conn = sqlite3.connect(home.db_path, timeout=10)
    where = "EndpointName = ? AND DeploymentName = ? AND time >= ?"
    args = (state.endpoint, state.to, state.phase_started)
    try:
        try:
            count, errors = conn.execute(
                "SELECT count(*), coalesce(sum(ResponseCode >= 500 OR ResponseCode IN (408, 424)), 0) "
                f"FROM traffic_log WHERE {where}",
                args,
            ).fetchone()
            p99_ms = None
            if count:
                # Nearest-rank p99 without loading the rows.
                row = conn.execute(
                    f"SELECT TotalDurationMs FROM traffic_log WHERE {where} "
                    "ORDER BY TotalDurationMs LIMIT 1 OFFSET ?",
                    (*args, max(0, math.ceil(0.99 * count) - 1)),
                ).fetchone()
                p99_ms = float(row[0]) if row and row[0] is not None else None
        except sqlite3.OperationalError:  # no router has written yet
            count, errors, p99_ms = 0, 0, None
        pairs = 0
        agreement = None
        if state.phase == "shadow":
            merged = shadowstore.merged(conn, state.endpoint, state.phase_started, shadow=state.to)
            pairs = sum(s.pairs for s in merged.values())
            exact = sum(s.exact for s in merged.values())
            agreement = exact / pairs if pairs else None
    finally:
        conn.close()
    return Observation(
        requests=int(count), errors=int(errors), p99_ms=p99_ms, pairs=pairs, agreement=agreement
    )


class RolloutDriver:
    """Starts, steps and ends rollouts; ``step()`` is one idempotent pass (tests call it)."""

    def __init__(
        self,
        home: Home,
        store: Store,
        service: EndpointService,
        publisher: RoutePublisher,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.store = store
        self.service = service
        self.publisher = publisher
        self.book = RolloutBook(home)
        self.clock = clock

    # -- starting ----------------------------------------------------------------------------------
    def start(self, endpoint: str, spec: RolloutSpec, *, origin: str = "cli") -> RolloutState:
        """Record a new rollout of ``endpoint`` (the driver's next pass begins it)."""
        record = self.store.get_endpoint(endpoint)
        found = self.book.get(endpoint)
        if found is not None and found[0].active:
            raise ConflictError(
                f"Endpoint {endpoint!r} already has a rollout of {found[0].to!r} in progress "
                f"({found[0].phase}); wait for it or stop it with "
                f"`switchman online-endpoint rollout cancel -n {endpoint}`."
            )
        deployments = {d.name for d in self.store.list_deployments(endpoint)}
        if spec.to not in deployments:
            raise NotFoundError(
                f"Endpoint {endpoint!r} has no deployment {spec.to!r} to roll out; deployments: "
                f"{', '.join(sorted(deployments)) or 'none'}. Create it first (with 0% traffic)."
            )
        traffic = {str(k): int(v) for k, v in dict(record.spec.get("traffic", {})).items()}
        mirror = {str(k): int(v) for k, v in dict(record.spec.get("mirror_traffic", {})).items()}
        if traffic.get(spec.to, 0) >= spec.steps[-1]:
            raise BadArgumentError(
                f"Deployment {spec.to!r} already has {traffic.get(spec.to, 0)}% of endpoint "
                f"{endpoint!r}'s traffic, as much as the last step ({spec.steps[-1]}%)."
            )
        try:
            split(traffic, spec.to, spec.steps[0])
        except PlanError as exc:
            raise BadArgumentError(f"Cannot roll out {spec.to!r} on {endpoint!r}: {exc}.") from None
        now = self.clock()
        state = RolloutState(
            endpoint=endpoint,
            to=spec.to,
            steps=tuple(spec.steps),
            bake_s=spec.bake,
            gates=Gates(
                max_error_rate=spec.max_error_rate,
                max_p99_ms=spec.max_p99_ms,
                min_agreement=spec.min_agreement,
                min_requests=spec.min_requests,
            ),
            mirror_percent=spec.mirror_percent,
            previous_traffic=traffic,
            previous_mirror=mirror,
            started=now,
            updated=now,
            phase_started=now,
            origin=origin,
            spec_hash=spec_hash(spec.model_dump(mode="json")),
        )
        self.book.put(state, new=True)
        self.store.add_event(
            "RolloutStarted",
            f"Rollout of {spec.to} to {','.join(map(str, spec.steps))}% started (bake "
            f"{spec.bake:g} s)",
            endpoint=endpoint,
            deployment=spec.to,
        )
        return state

    def cancel(self, endpoint: str) -> RolloutState:
        found = self.book.get(endpoint)
        if found is None:
            raise NotFoundError(f"Endpoint {endpoint!r} has no rollout.")
        if found[0].active:
            self.book.request_cancel(endpoint)
        return found[0]

    # -- the loop ----------------------------------------------------------------------------------
    async def run(self, interval: float = 0.25) -> None:
        """Step forever; a failed pass is logged and the next one tries again."""
        while True:
            try:
                # On the loop, like the reconciler: route publishing stays single-threaded.
                self.step()
            except Exception:
                logger.exception("rollout driver pass failed; retrying")
            await asyncio.sleep(interval)

    def step(self) -> None:
        self._start_declared()
        for state, cancel in self.book.all():
            if state.active:
                try:
                    self._advance(state, cancel)
                except Exception:
                    logger.exception("rollout of %s on %s failed a pass", state.to, state.endpoint)

    def _start_declared(self) -> None:
        for ep in self.store.list_endpoints():
            raw = ep.spec.get("rollout")
            if not raw or ep.status.get("provisioning_state") == ProvisioningState.DELETING:
                continue
            spec = RolloutSpec.model_validate(raw)
            found = self.book.get(ep.name)
            if found is not None and (
                found[0].active or found[0].spec_hash == spec_hash(spec.model_dump(mode="json"))
            ):
                continue
            try:
                self.start(ep.name, spec, origin="spec")
            except (BadArgumentError, NotFoundError, ConflictError) as exc:
                # Declared before its deployment exists, or already done: try again next pass.
                logger.debug("declared rollout of %s not started: %s", ep.name, exc)

    def _advance(self, state: RolloutState, cancel: bool) -> None:
        dep = self.store.find_deployment(state.endpoint, state.to)
        exists = dep is not None and (
            dep.status.get("provisioning_state") != ProvisioningState.DELETING
        )
        ready = bool(
            dep is not None
            and dep.status.get("provisioning_state") == ProvisioningState.SUCCEEDED
            and any(i.state == "Ready" for i in self.store.list_instances(state.endpoint, state.to))
        )
        seen = observe(self.home, state) if state.phase in ("shadow", "step") else Observation()
        decision = decide(
            state,
            self.clock(),
            seen,
            target_ready=ready,
            target_exists=exists,
            cancel=cancel,
        )
        self._apply(state, decision)

    def _apply(self, before: RolloutState, decision: Decision) -> None:
        if decision.traffic is not None or decision.mirror is not None:
            record = self.store.get_endpoint(before.endpoint)
            spec = dict(record.spec)
            if decision.traffic is not None:
                spec["traffic"] = decision.traffic
            if decision.mirror is not None:
                spec["mirror_traffic"] = decision.mirror
            # Mirror first off, then traffic: the update validates the pair as a whole.
            self.service.update_endpoint(before.endpoint, spec)
            self.publisher.publish()
        if decision.state != before:
            self.book.put(decision.state)
        for name, message in decision.events:
            logger.info("%s: %s", before.endpoint, message)
            self.store.add_event(name, message, endpoint=before.endpoint, deployment=before.to)
