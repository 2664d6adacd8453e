"""The node side of the artifact server: download a snapshot by digest, verify it, cache it.

A node of a remote backend does not see the control plane's disk; the storage-initializer asks the
control plane's artifact server (``switchman.controlplane.artifacts``) for each snapshot the
instance needs, unpacks it, checks that its content hash is the digest it asked for, and keeps it
in the node's cache under that digest, so the next instance of the same code or model on this node
starts without a download.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from switchman.controlplane.uploads import content_hash

MARKER = ".verified"


class ArtifactError(Exception):
    pass


def fetch(digest: str, source: dict[str, Any], cache: Path, say: Callable[[str], None]) -> Path:
    """The local folder of snapshot ``digest`` (as the control plane keeps it: one entry inside)."""
    target = cache / digest
    marker = cache / f"{digest}{MARKER}"  # beside the snapshot: its folder holds one entry only
    if marker.exists() and target.is_dir():
        say(f"Artifact {digest[:12]} found in the node cache {target}")
        return target
    url = f"{str(source['url']).rstrip('/')}/api/artifacts/{digest}"
    say(f"Downloading artifact {digest[:12]} from {url}")
    try:
        response = httpx.get(
            url,
            headers={"Authorization": f"Bearer {source['token']}"},
            timeout=60,
            trust_env=False,
            verify=False,
        )
    except httpx.HTTPError as exc:
        raise ArtifactError(
            f"This node cannot reach the control plane's artifact server at {url}: {exc}. Every "
            "node needs network access to the control plane (see docs/ray.md, 'Ports')."
        ) from None
    if response.status_code != 200:
        raise ArtifactError(f"The artifact server answered {response.status_code} for {url}.")
    tmp = cache / f".{digest}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        entries = [e for e in tmp.iterdir()]
        if len(entries) != 1 or content_hash(entries[0]) != digest:
            raise ArtifactError(
                f"Artifact {digest[:12]} from {url} does not match its digest: refusing to use it."
            )
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
        marker.write_text("ok\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"Artifact {digest[:12]} verified ({len(response.content)} bytes) and cached at {target}")
    return target
