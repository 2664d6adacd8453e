"""Trivial scoring script for azmlinfsrv and the Switchman runtime."""

import json


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)["data"]
    return {"predictions": [len(row) for row in data]}
