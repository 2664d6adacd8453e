"""Counts how many run() calls overlap; the test reads the maximum."""

import json
import threading
import time

lock = threading.Lock()
current = 0
peak = 0


def init():
    pass


def run(data):
    global current, peak
    with lock:
        current += 1
        peak = max(peak, current)
    try:
        time.sleep(json.loads(data).get("sleep", 0.05))
    finally:
        with lock:
            current -= 1
    return {"peak": peak}
