"""The data plane: the router process on the scoring hot path.

``python -m switchman.dataplane --home H --host 127.0.0.1 --port P [--public-host D]`` serves
``/endpoints/<name>/score`` (and Host-header style ``<name>.<domain>/score``) with Azure ML's wire
contract: auth, traffic split, mirroring, admission (429), timeouts (408), model errors (424), the
traffic log and metrics. The hot path is written on asyncio protocols with httptools parsing (see
``protocol``, ``upstream``); the decisions it makes are pure functions (``policy``).
"""
