"""Environment build and reuse times: cold (empty uv cache), uv-cache warm, and cached prepare.

`run(workdir)` returns a markdown section. The scikit-learn pin differs from anything the platform
has installed, so `prepare` must build an isolated venv rather than reuse the platform's Python.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from switchman.environments import prepare
from switchman.home import Home

SKLEARN_ENV = {
    "name": "bench-sklearn",
    "conda_file": {
        "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn==1.5.2", "joblib"]}]
    },
}
WARM_REPEATS = 20


@contextmanager
def _uv_cache(path: Path) -> Iterator[None]:
    before = os.environ.get("UV_CACHE_DIR")
    os.environ["UV_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("UV_CACHE_DIR", None)
        else:
            os.environ["UV_CACHE_DIR"] = before


def _timed_prepare(home: Home) -> tuple[float, Path]:
    started = time.perf_counter()
    python = prepare(SKLEARN_ENV, home=home, log=io.StringIO())
    return time.perf_counter() - started, python


def run(workdir: Path) -> str:
    """Measure and return a markdown section."""
    workdir.mkdir(parents=True, exist_ok=True)
    # A fresh folder per run: a reused BENCH_WORKDIR must not turn the cold build into a cache hit.
    base = Path(tempfile.mkdtemp(prefix="env-bench-", dir=workdir))
    with _uv_cache(base / "uv-cache"):
        cold, python = _timed_prepare(Home(base / "home-cold"))
        rebuilt, _ = _timed_prepare(Home(base / "home-second"))
        warm = [_timed_prepare(Home(base / "home-cold"))[0] for _ in range(WARM_REPEATS)]
    assert python.is_file(), python
    median_ms = statistics.median(warm) * 1000
    return "\n".join(
        [
            "## Environments",
            "",
            "A deployment environment pinning `scikit-learn==1.5.2` + `joblib` (isolated `uv` venv "
            f"on Python {sys.version.split()[0]}, plus the runtime's requirements).",
            "",
            "| step | time |",
            "|---|---|",
            f"| cold build (empty uv cache: resolve + download + install) | {cold:.1f} s |",
            f"| build in a new home, uv cache warm (no downloads) | {rebuilt:.1f} s |",
            f"| cached prepare (environment already built), median of {WARM_REPEATS} | {median_ms:.2f} ms |",
            f"| ratio cold build / cached prepare | {cold / statistics.median(warm):,.0f}x |",
            "",
        ]
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))
