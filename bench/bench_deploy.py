"""Time from `switchman online-deployment create` to ready for the example scikit-learn model.

The first deployment in a fresh home pays for uploading code and model and for checking the
environment; later ones reuse the cached environment (issue 6 target: ≤ 3 s when cached). The
breakdown comes from the instance's own logs: storage-initializer (staging + environment) versus
the scoring script's init().
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "online"
ROUNDS = 3
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)?)")


def _stamp(line: str) -> float | None:
    match = _STAMP.match(line)
    if not match:
        return None
    text = match.group(1).replace(",", ".")
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt).timestamp()


def _init_seconds(instance_dir: Path) -> float | None:
    lines = (instance_dir / "inference-server.log").read_text(errors="replace").splitlines()
    start = next((_stamp(x) for x in lines if "Invoking user's init" in x), None)
    end = next((_stamp(x) for x in lines if "init has completed" in x), None)
    return end - start if start is not None and end is not None else None


def run(workdir: Path) -> str:
    # Fresh folders per run, so a reused BENCH_WORKDIR measures the same thing every time.
    run_dir = Path(tempfile.mkdtemp(prefix="deploy-", dir=workdir))
    examples = run_dir / "deploy-example"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(examples)], check=True)
    subprocess.run(
        [sys.executable, str(examples / "train.py"), str(examples)], check=True, capture_output=True
    )
    home = run_dir / "deploy-home"
    env = {**os.environ, "SWITCHMAN_HOME": str(home)}
    cli = [sys.executable, "-m", "switchman"]

    def sm(*args: str) -> None:
        subprocess.run([*cli, *args], env=env, check=True, capture_output=True)

    totals: list[float] = []
    inits: list[float] = []
    sm("up", "--port", "0", "--api-port", "0")
    try:
        sm("online-endpoint", "create", "-f", str(examples / "endpoint.yml"))
        for round_ in range(ROUNDS):
            name = f"dep{round_}"
            started = time.perf_counter()
            sm(
                "online-deployment",
                "create",
                "-f",
                str(examples / "blue-deployment.yml"),
                "-n",
                name,
            )
            totals.append(time.perf_counter() - started)
            [folder] = list((home / "instances" / "my-endpoint").glob(f"{name}-*"))
            seconds = _init_seconds(folder)
            if seconds is not None:
                inits.append(seconds)
            sm("online-deployment", "delete", "-n", name, "-e", "my-endpoint", "--yes")
    finally:
        subprocess.run([*cli, "down"], env=env, check=False, capture_output=True)
    rows = [
        "| deployment | create → ready | of which the script's init() |",
        "|---|---:|---:|",
    ]
    for index, total in enumerate(totals):
        label = (
            "first in a fresh home (upload + environment check)"
            if index == 0
            else f"cached environment #{index}"
        )
        init = f"{inits[index]:.2f} s" if index < len(inits) else "?"
        rows.append(f"| {label} | {total:.2f} s | {init} |")
    cached = totals[1:] or totals
    return (
        "## Deployment time\n\n`switchman online-deployment create` of the example scikit-learn model "
        "(examples/online/blue-deployment.yml, 1 × Standard_DS3_v2) until it is ready, measured from the "
        "command line.\n\n"
        + "\n".join(rows)
        + f"\n\nMedian with a cached environment: **{statistics.median(cached):.2f} s** "
        "(target ≤ 3 s).\n"
    )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp)))
