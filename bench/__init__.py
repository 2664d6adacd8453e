"""Benchmark harness: `make bench` (``python -m bench``) measures Switchman against its anchors.

Extra sections: any module ``bench/bench_*.py`` exposing ``run(workdir: pathlib.Path) -> str``
(a markdown section) is discovered and appended to the report.
"""
