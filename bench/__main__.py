"""``python -m bench``: run the throughput benchmark and every ``bench/bench_*.py`` section, then write
the report to ``bench/results/<UTC time>.md`` and ``docs/performance.md``."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import throughput

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

INTRO = """# Performance

Measured by `make bench` (`python -m bench`) on this machine. The harness installs the anchors into
their own virtual environments under a temporary folder (reuse one with `BENCH_WORKDIR=...`), starts
each server, drives it with the same wrk load, and writes this page and `bench/results/<time>.md`.
Numbers are never asserted in tests: they depend on the machine.
"""


def sections(workdir: Path) -> list[str]:
    out = [throughput.run(workdir)]
    for path in sorted(HERE.glob("bench_*.py")):
        name = f"bench.{path.stem}"
        print(f"bench: section {name}", flush=True)
        try:
            out.append(importlib.import_module(name).run(workdir))
        except Exception:  # one broken extra section must not lose the others
            out.append(f"## {path.stem}\n\nFailed:\n\n```\n{traceback.format_exc()}```\n")
    return out


def main() -> int:
    explicit = os.environ.get("BENCH_WORKDIR")
    if explicit:
        workdir = Path(explicit)
        workdir.mkdir(parents=True, exist_ok=True)
        body = sections(workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="switchman-bench-") as tmp:
            body = sections(Path(tmp))
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime())
    text = INTRO + f"\nRun {stamp} on {os.cpu_count()} cores.\n\n" + "\n".join(body)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{stamp}.md").write_text(text)
    (REPO / "docs" / "performance.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
