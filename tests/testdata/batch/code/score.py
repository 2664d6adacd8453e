"""A batch scoring script for the tests: each input file holds one number; the row is
"<file name>,<number * scale>". Behaviour switches come from the environment and the file names."""

import json
import os
import time

scale = None
init_calls = 0


def init():
    global scale, init_calls
    init_calls += 1
    if os.environ.get("FAIL_INIT"):
        raise ValueError("bad model path: " + os.environ["FAIL_INIT"])
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "params.json")) as f:
        scale = json.load(f)["scale"]
    print(f"init done in pid {os.getpid()}", flush=True)


def _held(name):
    # Tests hold files numbered above HOLD_AFTER while HOLD_FILE exists: a job stays mid-way.
    hold = os.environ.get("HOLD_FILE")
    if not hold or not name.startswith("f"):
        return False
    return int(name[1:].split(".")[0]) > int(os.environ.get("HOLD_AFTER", "0")) and os.path.exists(
        hold
    )


def run(mini_batch):
    rows = []
    delay = float(os.environ.get("SLEEP_PER_FILE", "0"))
    for path in mini_batch:
        name = os.path.basename(path)
        while _held(name):
            time.sleep(0.05)
        if name.startswith("boom"):
            raise RuntimeError(f"cannot score {name}")
        if name.startswith("hang"):
            time.sleep(3600)
        if name.startswith("skip"):
            continue
        if delay:
            time.sleep(delay)
        with open(path) as f:
            value = float(f.read().strip() or 0)
        rows.append(f"{name},{value * scale},{os.getpid()},{init_calls}")
    print(f"scored {len(rows)} files", flush=True)
    return rows
