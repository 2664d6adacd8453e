"""Console-log collection: only new complete lines, adopted instances followed from the end."""

from __future__ import annotations

from pathlib import Path

from switchman.compute.backend import Handle
from switchman.compute.local import LocalBackend
from switchman.controlplane.console import ConsoleCollector
from switchman.controlplane.store import InstanceRecord, Store
from switchman.home import Home


def instance(folder: Path, created_at: float) -> InstanceRecord:
    folder.mkdir(parents=True, exist_ok=True)
    return InstanceRecord(
        id="blue-1",
        endpoint="ep",
        deployment="blue",
        template="t",
        state="Ready",
        dir=str(folder),
        created_at=created_at,
        handle=Handle("local", "blue-1", {"dir": str(folder)}).to_json(),
    )


def rows(store: Store) -> list[tuple[str, str]]:
    with store.transaction() as conn:
        return [
            (r["container"], r["message"])
            for r in conn.execute("SELECT * FROM console_log ORDER BY rowid")
        ]


def test_new_complete_lines_are_stored_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    clock = iter(range(100, 200))
    collector = ConsoleCollector(store, clock=lambda: float(next(clock)))
    inst = instance(tmp_path / "i", created_at=150.0)
    log = tmp_path / "i" / "inference-server.log"
    log.write_text("first\nsecond\npart")
    assert collector.collect([inst], LocalBackend(Home(tmp_path))) == 2
    assert collector.collect([inst], LocalBackend(Home(tmp_path))) == 0
    with open(log, "a") as handle:
        handle.write("ial\n")
    collector.collect([inst], LocalBackend(Home(tmp_path)))
    assert rows(store) == [
        ("inference-server", "first"),
        ("inference-server", "second"),
        ("inference-server", "partial"),
    ]


def test_adopted_instances_start_at_the_end(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    collector = ConsoleCollector(store, clock=lambda: 1000.0)
    inst = instance(tmp_path / "i", created_at=10.0)  # older than this collector
    (tmp_path / "i" / "storage-initializer.log").write_text(
        "already stored by the last control plane\n"
    )
    assert collector.collect([inst], LocalBackend(Home(tmp_path))) == 0
    with open(tmp_path / "i" / "storage-initializer.log", "a") as handle:
        handle.write("new line\n")
    collector.collect([inst], LocalBackend(Home(tmp_path)))
    assert rows(store) == [("storage-initializer", "new line")]
