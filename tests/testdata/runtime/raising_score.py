import json


def init():
    pass


def run(data):
    if json.loads(data).get("kind") == "unserialisable":
        return {1, 2, 3}
    if json.loads(data).get("kind") == "text":
        return "plain"
    raise ValueError("scoring exploded")
