"""Writing a converted service into the output folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from switchman.errors import BadArgumentError
from switchman.migrate.converter import Migration
from switchman.migrate.inference import CONDA_FILE
from switchman.migrate.report import ApplyOutcome, render

REPORT_FILE = "MIGRATION.md"


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _write(path: Path, text: str) -> None:
    """Write atomically, so a crash never leaves a half-written YAML file behind."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(migration: Migration) -> list[Path]:
    """Write endpoint.yml, deployment.yml, the conda file, a copied entry script and MIGRATION.md.

    Returns:
        The files written (absolute paths), MIGRATION.md last.
    """
    out = migration.request.output_dir.resolve()
    if out.exists() and not out.is_dir():
        raise BadArgumentError(
            f"--output-dir {out} is a file; give a folder (it is created if missing)."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadArgumentError(f"Cannot create --output-dir {out}: {exc.strerror}.") from None
    files: list[Path] = []
    if migration.code.copy_from is not None:
        target = migration.code.code_dir / migration.code.scoring_script
        target.parent.mkdir(parents=True, exist_ok=True)
        if migration.code.copy_from.resolve() != target.resolve():
            shutil.copy2(migration.code.copy_from, target)
        files.append(target)
    if migration.conda is not None:
        _write(out / CONDA_FILE, _dump(migration.conda))
        files.append(out / CONDA_FILE)
    _write(out / "endpoint.yml", _dump(migration.endpoint))
    _write(out / "deployment.yml", _dump(migration.deployment))
    files += [out / "endpoint.yml", out / "deployment.yml", out / REPORT_FILE]
    write_report(migration, files, None)
    return files


def write_report(migration: Migration, files: list[Path], applied: ApplyOutcome | None) -> None:
    """(Re)write MIGRATION.md, e.g. after --apply with the new scoring URI."""
    out = migration.request.output_dir.resolve()
    _write(out / REPORT_FILE, render(migration, files, applied))
