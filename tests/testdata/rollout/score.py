"""A tiny model for rollout tests: sums each row. MODE picks its behaviour:
good (sums), offset (sums + 1.5: answers differ), flaky (fails the 1st of every 20 requests)."""

import json
import os
import threading

from azureml.ai.monitoring import Collector

_lock = threading.Lock()
_count = 0


def init():
    global inputs_collector, outputs_collector
    inputs_collector = Collector(name="model_inputs")
    outputs_collector = Collector(name="model_outputs")


def run(raw_data):
    global _count
    data = json.loads(raw_data)["data"]
    context = inputs_collector.collect(data)
    mode = os.environ.get("MODE", "good")
    with _lock:
        _count += 1
        n = _count
    if mode == "flaky" and n % 20 == 1:
        raise RuntimeError("flaky model: request %d fails" % n)
    result = [sum(row) for row in data]
    if mode == "offset":
        result = [value + 1.5 for value in result]
    outputs_collector.collect(result, context)
    return result
