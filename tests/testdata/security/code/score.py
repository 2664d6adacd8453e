"""A scoring script for secret-injection tests: prints one secret at init, returns its env."""

import os


def init():
    print(f"init sees OPENAI_KEY={os.environ.get('OPENAI_KEY')}", flush=True)


def run(raw_data):
    return {"pid": os.getpid(), "env": dict(os.environ)}
