"""Trivial KServe custom model (same work as score.py)."""

import argparse

from kserve import Model, ModelServer


class Trivial(Model):  # type: ignore[misc]  # kserve is not installed in our venv
    def __init__(self, name):
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):
        return {"predictions": [len(row) for row in payload["instances"]]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http_port", type=int, required=True)
    args, _ = parser.parse_known_args()
    ModelServer(
        http_port=args.http_port, grpc_port=args.http_port + 1, workers=1, enable_grpc=False
    ).start([Trivial("m")])
