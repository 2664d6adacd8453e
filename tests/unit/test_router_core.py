"""Authentication, admission (429 + FIFO queue) and the route-table watcher, with fakes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from switchman.dataplane.admission import DeploymentGate, InstanceSlot
from switchman.dataplane.auth import Authenticator
from switchman.dataplane.errors import AuthError, NoReadyInstanceError, TooManyRequestsError
from switchman.dataplane.table import Deployment, Endpoint, Instance, RouteTable
from switchman.dataplane.upstream import UpstreamPool
from switchman.dataplane.watcher import TableWatcher


def _endpoint(mode: str = "key") -> Endpoint:
    keys = tuple(hashlib.sha256(k.encode()).hexdigest() for k in ("k1", "k2"))
    return Endpoint("ep", mode, keys, "switchman:ep", (("blue", 100),), ())


def test_key_auth() -> None:
    auth = Authenticator(None)
    assert auth.check(_endpoint(), "Bearer k1") == "key"
    assert auth.check(_endpoint(), "bearer k2") == "key"
    for header in (None, "", "Bearer", "Bearer k3", "Basic k1"):
        with pytest.raises(AuthError):
            auth.check(_endpoint(), header)
    assert auth.check(_endpoint("none"), None) == "anonymous"


def test_token_auth_checks_signature_audience_and_expiry_with_a_fake_clock() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = [1_000_000.0]
    auth = Authenticator(pem.decode(), clock=lambda: now[0])
    ep = _endpoint("aml_token")
    token = jwt.encode({"aud": "switchman:ep", "exp": 1_000_100}, private, algorithm="EdDSA")
    assert auth.check(ep, f"Bearer {token}") == "token"
    assert auth.check(ep, f"Bearer {token}") == "token"  # cached
    now[0] = 1_000_100.0
    with pytest.raises(AuthError, match="expired"):
        auth.check(ep, f"Bearer {token}")  # the cache honours exp too
    wrong_aud = jwt.encode({"aud": "switchman:x", "exp": 2_000_000}, private, algorithm="EdDSA")
    with pytest.raises(AuthError):
        auth.check(ep, f"Bearer {wrong_aud}")
    no_exp = jwt.encode({"aud": "switchman:ep"}, private, algorithm="EdDSA")
    with pytest.raises(AuthError):
        auth.check(ep, f"Bearer {no_exp}")
    with pytest.raises(AuthError, match="no token key"):
        Authenticator(None).check(ep, f"Bearer {token}")


def _gate(instances: int, capacity: int) -> DeploymentGate:
    insts = tuple(Instance(f"i{n}", "127.0.0.1", 1000 + n, True) for n in range(instances))
    dep = Deployment("blue", 1000, capacity, insts)
    gate = DeploymentGate("ep", dep)
    gate.configure(dep, [InstanceSlot(i, UpstreamPool(i.host, i.port)) for i in insts])
    return gate


def test_admission_limit_and_numbers() -> None:
    gate = _gate(instances=2, capacity=1)
    for _ in range(4):
        gate.admit()
    with pytest.raises(TooManyRequestsError) as info:
        gate.admit()
    assert info.value.details == {
        "in_flight": 4,
        "limit": 4,
        "max_concurrent_requests_per_instance": 1,
        "ready_instances": 2,
    }
    assert ("retry-after", "1") in info.value.headers
    gate.leave()
    gate.admit()
    with pytest.raises(NoReadyInstanceError):
        _gate(instances=0, capacity=1).admit()


def test_slots_go_least_busy_then_fifo() -> None:
    async def scenario() -> None:
        gate = _gate(instances=2, capacity=1)
        first = await gate.acquire()
        second = await gate.acquire()
        assert {first.instance.id, second.instance.id} == {"i0", "i1"}
        order: list[str] = []

        async def wait(tag: str) -> None:
            slot = await gate.acquire()
            order.append(f"{tag}:{slot.instance.id}")
            gate.release(slot)

        tasks = [asyncio.create_task(wait(tag)) for tag in ("a", "b", "c")]
        await asyncio.sleep(0)
        assert len(gate.queue) == 3
        tasks[1].cancel()  # a cancelled waiter never takes (or leaks) a slot
        gate.release(first)
        await asyncio.gather(*tasks, return_exceptions=True)
        assert order == [f"a:{first.instance.id}", f"c:{first.instance.id}"]
        assert [s.active for s in gate.slots].count(0) == 1
        gate.release(second)
        assert all(s.active == 0 for s in gate.slots)
        excluded = frozenset({"i0", "i1"})
        with pytest.raises(NoReadyInstanceError):
            await gate.acquire(excluded)

    asyncio.run(scenario())


def test_watcher_keeps_the_last_good_table(tmp_path: Path) -> None:
    installed: list[RouteTable] = []
    path = tmp_path / "routes.json"
    watcher = TableWatcher(path, installed.append)
    assert watcher.poll() is False  # missing file: nothing yet
    path.write_text(json.dumps({"version": 2, "endpoints": {}}))
    assert watcher.poll() is True and installed[-1].version == 2
    assert watcher.poll() is False  # unchanged
    path.write_text("{broken")
    assert watcher.poll() is False
    path.write_text(json.dumps({"version": 1, "endpoints": {}, "pad": 1}))
    assert watcher.poll() is False  # older versions are ignored
    path.unlink()
    assert watcher.poll() is False
    path.write_text(json.dumps({"version": 3, "endpoints": {"e": {}}}))
    assert watcher.poll() is True and list(installed[-1].endpoints) == ["e"]
    assert [t.version for t in installed] == [2, 3]
