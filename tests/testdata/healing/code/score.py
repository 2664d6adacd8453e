"""A scoring script for self-healing tests: echoes, sleeps, or grows its memory on request."""

import json
import os
import time

hoard = []


def init():
    global started
    started = time.time()
    time.sleep(float(os.environ.get("INIT_SLEEP_S", "0")))  # an instance that stays "starting"


def run(raw_data):
    data = json.loads(raw_data) if raw_data else {}
    if "sleep" in data:
        time.sleep(float(data["sleep"]))
    if "allocate_mib" in data:
        hoard.append(bytearray(int(data["allocate_mib"]) * 1024 * 1024))
    return {"pid": os.getpid(), "greeting": os.environ.get("GREETING", "")}
