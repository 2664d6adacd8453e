"""`make demo`: deploy the example model blue/green and score it, the way a user would.

Everything goes through the `switchman` command (as an `az ml` script would), in a temporary
SWITCHMAN_HOME. A demo that succeeds leaves the platform running, so the curl command it prints
works, and prints how to stop it (`switchman down` with the demo's SWITCHMAN_HOME); a demo that
fails stops the platform and removes its home.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent / "online"
SWITCHMAN = str(Path(sys.executable).with_name("switchman"))
REQUESTS = 200


def sm(*args: str, capture: bool = True) -> str:
    print(f"$ switchman {' '.join(args)}", flush=True)
    done = subprocess.run([SWITCHMAN, *args], capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr if capture else "")
        raise SystemExit(
            f"switchman {args[0]} {args[1] if len(args) > 1 else ''} failed (exit {done.returncode})"
        )
    return done.stdout if capture else ""


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="switchman-demo-"))
    os.environ["SWITCHMAN_HOME"] = str(home)
    subprocess.run([sys.executable, str(HERE / "train.py")], check=True)
    finished = False
    try:
        print(sm("up", "--port", "0", "--api-port", "0"))
        sm("online-endpoint", "create", "-f", str(HERE / "endpoint.yml"))
        started = time.perf_counter()
        sm("online-deployment", "create", "-f", str(HERE / "blue-deployment.yml"), "--all-traffic")
        blue_s = time.perf_counter() - started
        print(f"blue ready in {blue_s:.2f}s")
        print(
            "blue answers:",
            sm(
                "online-endpoint",
                "invoke",
                "-n",
                "my-endpoint",
                "--request-file",
                str(HERE / "sample-request.json"),
            ),
        )
        started = time.perf_counter()
        sm("online-deployment", "create", "-f", str(HERE / "green-deployment.yml"))
        print(f"green ready in {time.perf_counter() - started:.2f}s")
        print(
            "green answers:",
            sm(
                "online-endpoint",
                "invoke",
                "-n",
                "my-endpoint",
                "-d",
                "green",
                "-r",
                str(HERE / "sample-request.json"),
            ),
        )
        sm("online-endpoint", "update", "-n", "my-endpoint", "--traffic", "blue=90 green=10")
        endpoint = json.loads(sm("online-endpoint", "show", "-n", "my-endpoint"))
        key = json.loads(sm("online-endpoint", "get-credentials", "-n", "my-endpoint"))[
            "primaryKey"
        ]
        uri = endpoint["scoring_uri"]
        body = (HERE / "sample-request.json").read_bytes()
        counts: collections.Counter[str] = collections.Counter()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with httpx.Client(trust_env=False, timeout=10) as http:
            for _ in range(REQUESTS):
                response = http.post(uri, content=body, headers=headers)
                counts[
                    f"{response.headers.get('azureml-model-deployment')} ({response.status_code})"
                ] += 1
        print(f"traffic blue=90 green=10 over {REQUESTS} requests: {dict(counts)}")
        print()
        print(f"Scoring URI: {uri}")
        print(f"Key:         {key}")
        print("Call it with:")
        print(
            f"  curl -s -X POST '{uri}' -H 'Authorization: Bearer {key}' "
            f"-H 'Content-Type: application/json' -d @{HERE / 'sample-request.json'}"
        )
        print()
        print("The platform keeps running so that the command above works. Stop it with:")
        print(f"  SWITCHMAN_HOME={home} {SWITCHMAN} down && rm -rf {home}")
        finished = True
    finally:
        if not finished:
            subprocess.run([SWITCHMAN, "down"], check=False, capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
            print("platform stopped")


if __name__ == "__main__":
    main()
