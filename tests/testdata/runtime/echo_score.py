import json


def init():
    global ready
    ready = True


def run(data):
    return {"echo": json.loads(data), "ready": ready}
