"""Batch scoring script for bench_batch: a CPU-bound run() (the same work() the Pool anchor does)."""

import os

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "120000"))


def work(path):
    with open(path) as f:
        seed = int(f.read().strip() or 0)
    total = seed
    for i in range(ROUNDS):
        total = (total * 31 + i) % 1000003
    return f"{os.path.basename(path)},{total}"


def init():
    pass


def run(mini_batch):
    if os.environ.get("BENCH_EMPTY"):
        return [os.path.basename(p) for p in mini_batch]
    return [work(p) for p in mini_batch]
