"""Scoring script for router end-to-end tests on the real runtime.

run() appends the request's marker to $ROUTER_CALLS (one line per execution), sleeps if asked,
raises if asked, and otherwise echoes.
"""

import json
import os
import time


def init():
    global calls
    calls = os.environ.get("ROUTER_CALLS")


def run(raw_data):
    data = json.loads(raw_data)
    if calls:
        with open(calls, "a") as handle:
            handle.write(str(data.get("marker", "-")) + "\n")
    if data.get("sleep"):
        time.sleep(float(data["sleep"]))
    if data.get("raise"):
        raise ValueError("failed on purpose")
    return {"echo": data.get("echo"), "instance": os.environ.get("SWITCHMAN_INSTANCE_ID")}
