"""Batch endpoints (issue 10): jobs that turn a folder of files into ``predictions.csv``.

- :mod:`switchman.batch.policy` — the mini-batch scheduling decisions, a pure function.
- :mod:`switchman.batch.scheduler` — applies them in the control plane (workers via the backend).
- :mod:`switchman.batch.worker` — the worker process: ``init()`` once, ``run(mini_batch)`` per lease.
- :mod:`switchman.batch.outputs` — per-mini-batch results, the merged output, the logs layout.
"""
