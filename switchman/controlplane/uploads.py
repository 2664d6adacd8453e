"""Content-addressed snapshots of code and model folders: Switchman's "upload to the datastore".

A deployment keeps running what was uploaded when it was created, whatever later happens to the
user's files; two uploads of the same content share one snapshot.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from switchman.errors import BadArgumentError

_CHUNK = 1 << 20
_SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        out.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith(".pyc"))
    return out


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    # The snapshot holds one entry named like the source: a folder `model/` holding `m.pkl` and
    # the file `m.pkl` must not share an address (the SDK notebooks upload both).
    digest.update(("dir:" if path.is_dir() else "file:").encode() + path.name.encode() + b"\0")
    base = path if path.is_dir() else path.parent
    for file in _files(path):
        digest.update(str(file.relative_to(base)).encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def upload(source: str | Path, assets_dir: Path, *, what: str = "path") -> Path:
    """Snapshot ``source`` (file or folder) as ``assets_dir/<sha256>/<basename>``.

    Returns:
        The snapshot folder (it holds one entry named like the source).

    Raises:
        BadArgumentError: the source does not exist.
    """
    path = Path(source)
    if not path.exists():
        raise BadArgumentError(
            f"The {what} {str(source)!r} does not exist. Paths in a YAML file are relative to "
            "the file's folder; check the path and retry."
        )
    path = path.resolve()
    digest = content_hash(path)
    target = assets_dir / digest
    if (target / path.name).exists():
        return target
    assets_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=assets_dir))
    try:
        if path.is_dir():
            shutil.copytree(
                path, staging / path.name, ignore=shutil.ignore_patterns(*_SKIP_DIRS, "*.pyc")
            )
        else:
            shutil.copy2(path, staging / path.name)
        try:
            staging.rename(target)
        except OSError:  # another upload of the same content won the race
            if not (target / path.name).exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
