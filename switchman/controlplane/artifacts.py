"""The artifact server: nodes of a remote compute backend download a deployment's code and model
from the control plane, because they do not see its disk.

Bundles are content-addressed: ``GET /api/artifacts/<sha256>`` answers a gzipped tar of the
snapshot ``assets/<sha256>/`` (built once, cached beside it). Nodes authenticate with the artifact
token, a key derived from the admin token that opens nothing but this route; the node-side
storage-initializer checks the digest of what it unpacked before using it
(``switchman.compute.fetch``). Not in the OpenAPI document: it is the nodes' interface, not users'.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tarfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from switchman.errors import NotFoundError, UnauthorizedError

router = APIRouter()
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def artifact_token(admin_token: str) -> str:
    return hmac.new(admin_token.encode(), b"switchman-artifacts", hashlib.sha256).hexdigest()


def bundle(assets_dir: Path, digest: str) -> Path:
    """The tar.gz of one snapshot (made once; a snapshot never changes)."""
    source = assets_dir / digest
    target = assets_dir / f"{digest}.tar.gz"
    if target.exists():
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
        for entry in sorted(source.iterdir()):
            tar.add(entry, arcname=entry.name)
    os.replace(tmp, target)
    return target


@router.get("/api/artifacts/{digest}", include_in_schema=False)
def download(digest: str, request: Request) -> FileResponse:
    expected = artifact_token(request.app.state.admin_token)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise UnauthorizedError("Artifact downloads need the artifact token (Bearer).")
    assets_dir: Path = request.app.state.platform.home.assets_dir
    if not _DIGEST.match(digest) or not (assets_dir / digest).is_dir():
        raise NotFoundError(f"No artifact {digest!r} on this control plane.")
    return FileResponse(bundle(assets_dir, digest), media_type="application/gzip")
