import json
import time


def init():
    pass


def run(data):
    print("slow run started")
    time.sleep(json.loads(data)["sleep"])
    return {"slept": json.loads(data)["sleep"]}
