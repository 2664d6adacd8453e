"""A scoring script for egress tests: tries to open a TCP connection to the address it is sent."""

import json
import socket


def init():
    pass


def run(raw_data):
    target = json.loads(raw_data)
    try:
        socket.create_connection((target["host"], int(target["port"])), timeout=2).close()
        outcome = "connected"
    except OSError as exc:
        outcome = f"blocked: {exc}"
    with open("/proc/net/dev") as handle:
        interfaces = [line.split(":")[0].strip() for line in handle.readlines()[2:]]
    return {"outcome": outcome, "interfaces": interfaces}
