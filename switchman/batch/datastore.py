"""The home's datastore: where batch inputs and outputs live, as Azure ML's workspace blob store.

``$SWITCHMAN_HOME/datastore/workspaceblobstore/`` holds what
``azureml://datastores/workspaceblobstore/paths/<p>`` names. Local inputs are copied in under
``LocalUpload/<sha256>/`` (content-addressed, like the CLI's upload to blob storage, so re-using
the same folder copies nothing); ``https://`` inputs are downloaded once under ``https/<sha256>/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

from switchman.controlplane.uploads import upload
from switchman.errors import BadArgumentError
from switchman.home import Home

DATASTORE = "workspaceblobstore"
PREFIX = f"azureml://datastores/{DATASTORE}/paths/"
_DOWNLOAD_LIMIT = 2 << 30


class Datastore:
    def __init__(self, home: Home) -> None:
        self.root = home.root / "datastore" / DATASTORE

    def uri(self, path: Path) -> str:
        return PREFIX + str(path.relative_to(self.root)).replace(os.sep, "/")

    def upload(self, local: str) -> str:
        """Copy a local file or folder into the datastore; return its azureml:// URI."""
        snapshot = upload(local, self.root / "LocalUpload", what="input path")
        return self.uri(snapshot / Path(local).resolve().name)

    def resolve(self, uri: str) -> Path:
        """``azureml://datastores/workspaceblobstore/paths/<p>`` → the folder or file inside the home."""
        if not uri.startswith("azureml://datastores/"):
            raise BadArgumentError(
                f"{uri!r} is not a datastore path (azureml://datastores/<ds>/paths/<p>)."
            )
        rest = uri[len("azureml://datastores/") :]
        store, _, tail = rest.partition("/paths/")
        if store != DATASTORE:
            raise BadArgumentError(
                f"Datastore {store!r} does not exist; Switchman has one datastore, {DATASTORE} "
                f"(azureml://datastores/{DATASTORE}/paths/<path>)."
            )
        relative = Path(unquote(tail).strip("/"))
        if relative.is_absolute() or ".." in relative.parts:
            raise BadArgumentError(f"The datastore path {uri!r} must not leave the datastore.")
        return self.root / relative

    def download(self, url: str) -> Path:
        """Fetch an http(s) file once; later jobs reuse the copy."""
        digest = hashlib.sha256(url.encode()).hexdigest()
        name = Path(unquote(urlsplit(url).path)).name or "data"
        target = self.root / "https" / digest / name
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
        try:
            with opener.open(url, timeout=60) as response, os.fdopen(fd, "wb") as out:
                copied = 0
                while chunk := response.read(1 << 20):
                    copied += len(chunk)
                    if copied > _DOWNLOAD_LIMIT:
                        raise BadArgumentError(f"The input {url} is larger than 2 GiB.")
                    out.write(chunk)
            os.replace(tmp, target)
        except OSError as exc:
            raise BadArgumentError(
                f"Cannot download the input {url}: {exc}. Check the URL, or download the files "
                "and pass a local folder with --input."
            ) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def remove(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


def list_files(path: Path, *, nested: bool = True) -> list[tuple[str, str]]:
    """(absolute path, path relative to the input) of every file; nested folders when asked.

    Hidden files (``.name``) are skipped, as blob listings of uploads hold none.
    """
    if path.is_file():
        return [(str(path), path.name)]
    out: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if nested else []
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            out.append((str(full), str(full.relative_to(path))))
    return sorted(out, key=lambda item: item[1])
