"""Run a notebook's code cells (a ``# %%``-split transcript) as Jupyter would: in one namespace,
each cell's last expression evaluated and kept as the cell's output."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any


def run_cells(transcript: Path, namespace: dict[str, Any] | None = None) -> list[tuple[str, Any]]:
    """Run every cell; return (cell source, output of its last expression or None) per cell."""
    scope: dict[str, Any] = namespace if namespace is not None else {"__name__": "__notebook__"}
    outputs: list[tuple[str, Any]] = []
    cells: list[list[str]] = []
    for line in transcript.read_text().splitlines():
        if line.strip() == "# %%":
            cells.append([])
        elif cells:
            cells[-1].append(line)
    for cell in ("\n".join(lines) for lines in cells):
        magic, _, rest = cell.lstrip("\n").partition("\n")
        if magic.startswith("%%writefile "):  # as Jupyter: the cell's text becomes the file
            target = Path(magic.split(maxsplit=1)[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rest)
            outputs.append((cell.strip(), None))
            continue
        tree = ast.parse(cell, filename=str(transcript))
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
        exec(compile(body, str(transcript), "exec"), scope)
        value = None
        if last is not None:
            value = eval(compile(ast.Expression(last.value), str(transcript), "eval"), scope)
        outputs.append((cell.strip(), value))
    return outputs
