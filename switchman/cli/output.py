"""Render command results as json (default), yaml, table or tsv, after an optional JMESPath query."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import jmespath
import yaml

from switchman.errors import BadArgumentError

FORMATS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")


def query(data: Any, expression: str | None) -> Any:
    if not expression:
        return data
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise BadArgumentError(f"--query {expression!r} is not valid JMESPath: {exc}") from None


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _rows(data: Any) -> tuple[list[str], list[list[str]]]:
    items = data if isinstance(data, list) else [data]
    if all(isinstance(i, dict) for i in items) and items:
        columns: list[str] = []
        for item in items:
            for key, value in item.items():
                # Tables show scalar columns only, as `az -o table` does.
                if not isinstance(value, dict | list) and key not in columns:
                    columns.append(key)
        return columns, [[_scalar(i.get(c)) for c in columns] for i in items]
    return ["Result"], [[_scalar(i)] for i in items]


def render(data: Any, fmt: str = "json") -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")
    if fmt == "tsv":
        items = data if isinstance(data, list) else [data]
        lines = []
        for item in items:
            if isinstance(item, dict):
                lines.append(
                    "\t".join(_scalar(v) for v in item.values() if not isinstance(v, dict))
                )
            else:
                lines.append(_scalar(item))
        return "\n".join(lines)
    if fmt == "table":
        if data is None or data == []:
            return ""
        columns, rows = _rows(data)
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
        head = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
        rule = "  ".join("-" * w for w in widths)
        body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join([head, rule, *body])
    raise BadArgumentError(f"--output must be one of {', '.join(FORMATS)}, got {fmt!r}")


def emit(data: Any, fmt: str, expression: str | None, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if fmt == "none":  # `az -o none`: success is the exit code alone
        return
    fmt = {"jsonc": "json", "yamlc": "yaml"}.get(fmt, fmt)
    result = query(data, expression)
    if result is None and expression is None:
        return
    if isinstance(result, str) and fmt in ("tsv", "table"):
        out.write(result + "\n")
        return
    text = render(result, fmt)
    if text:
        out.write(text + "\n")
