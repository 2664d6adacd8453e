"""`make demo-batch`: a folder of CSV files becomes predictions.csv through a batch endpoint.

The commands of the issue, through the `switchman` command, in a temporary SWITCHMAN_HOME: a compute
cluster at 0 nodes, a data asset, a batch endpoint and deployment, `invoke`, `job stream`, `job
download`. The platform is stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "batch"
SWITCHMAN = str(Path(sys.executable).with_name("switchman"))


def sm(*args: str, capture: bool = True) -> str:
    print(f"$ switchman {' '.join(args)}", flush=True)
    done = subprocess.run([SWITCHMAN, *args], capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"switchman {args[0]} failed" + (f":\n{done.stderr}" if capture else ""))
    return done.stdout.strip() if capture else ""


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="switchman-batch-demo-"))
    os.environ["SWITCHMAN_HOME"] = str(work / "home")
    example = work / "batch"
    shutil.copytree(HERE, example)
    subprocess.run([sys.executable, str(example / "train.py"), str(example)], check=True)
    sm("up")
    try:
        sm("compute", "create", "-f", str(example / "compute.yml"), "-o", "none")
        sm("data", "create", "-f", str(example / "data.yml"), "-o", "none")
        sm("batch-endpoint", "create", "-f", str(example / "endpoint.yml"), "-o", "none")
        sm(
            "batch-deployment",
            "create",
            "-f",
            str(example / "deployment.yml"),
            "--set-default",
            "-o",
            "none",
        )
        job = sm(
            "batch-endpoint",
            "invoke",
            "-n",
            "diabetes-batch",
            "--input",
            "azureml:diabetes-unlabeled@latest",
            "--query",
            "name",
            "-o",
            "tsv",
        )
        sm("job", "stream", "-n", job, capture=False)
        status = sm("job", "show", "-n", job, "--query", "status", "-o", "tsv")
        if status != "Completed":
            raise SystemExit(f"the job ended {status}")
        out = work / "out"
        sm("job", "download", "-n", job, "--output-name", "score", "--download-path", str(out))
        rows = (out / "named-outputs" / "score" / "predictions.csv").read_text().splitlines()
        print(f"\n{len(rows)} predictions in {out}/named-outputs/score/predictions.csv, e.g.:")
        print("\n".join(rows[:5]))
        print(
            sm(
                "compute",
                "show",
                "-n",
                "batch-cluster",
                "--query",
                "{nodes: current_node_count, state: state}",
                "-o",
                "json",
            )
        )
    finally:
        sm("down", "-o", "none")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
