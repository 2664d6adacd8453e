"""Workspace connections at rest and their injection into deployments.

Each connection is a row of its own ``connections`` table: the public document in clear, the
secrets sealed by the home's :class:`~switchman.controlplane.secrets.Vault` (Fernet, like endpoint
keys), and a ``version`` bumped on every change. A deployment keeps its references
(``${{azureml://connections/<name>/credentials/<key>}}``) as written; :meth:`ConnectionRegistry.pin`
checks them when the deployment is created or updated and records which version each resolves
to, so rotating a secret and updating the deployment changes its template and rolls its
instances. The clear values exist only in memory, on the way into an instance's environment
(:meth:`ConnectionRegistry.environment`), and are masked out of logs (:meth:`mask`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from switchman.controlplane.secrets import Vault
from switchman.controlplane.store import Store
from switchman.errors import BadArgumentError, ConflictError, NotFoundError
from switchman.spec.connection import MASK, Connection, references, substitute

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS connections (
        name TEXT PRIMARY KEY,
        document TEXT NOT NULL,
        sealed BLOB NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
)


class SecretsInjectionError(BadArgumentError):
    """A deployment references a connection or key that does not exist (Azure's error code)."""

    default_code = "SecretsInjectionError"


class ConnectionRegistry:
    """Create, read and delete connections; resolve a deployment's references."""

    def __init__(self, store: Store, vault: Vault) -> None:
        self.store = store
        self.vault = vault
        with store.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    # -- the connection verbs ---------------------------------------------------------------------
    def put(self, connection: Connection) -> dict[str, Any]:
        """Create, or replace (a rotation), one connection; returns its public view."""
        now = time.time()
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT version, created_at FROM connections WHERE name=?", (connection.name,)
            ).fetchone()
            version = int(row[0]) + 1 if row else 1
            created = float(row[1]) if row else now
            conn.execute(
                "INSERT OR REPLACE INTO connections VALUES (?, ?, ?, ?, ?, ?)",
                (
                    connection.name,
                    json.dumps(connection.document),
                    self.vault.seal(connection.secrets),
                    version,
                    created,
                    now,
                ),
            )
        return self.show(connection.name)

    def _row(self, name: str) -> Any:
        with self.store.transaction() as conn:
            return conn.execute(
                "SELECT document, sealed, version, created_at, updated_at FROM connections "
                "WHERE name=?",
                (name,),
            ).fetchone()

    @staticmethod
    def _view(row: Any) -> dict[str, Any]:
        doc = dict(json.loads(row[0]))
        doc["version"] = int(row[2])
        doc["created_at"] = float(row[3])
        doc["updated_at"] = float(row[4])
        return doc

    def show(self, name: str) -> dict[str, Any]:
        row = self._row(name)
        if row is None:
            raise NotFoundError(
                f"Connection {name!r} does not exist. Create it with "
                "`switchman connection create -f connection.yml`."
            )
        return self._view(row)

    def all(self) -> list[dict[str, Any]]:
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT document, sealed, version, created_at, updated_at FROM connections "
                "ORDER BY name"
            ).fetchall()
        return [self._view(r) for r in rows]

    def delete(self, name: str, used_by: list[str]) -> None:
        self.show(name)
        if used_by:
            raise ConflictError(
                f"Connection {name!r} is referenced by deployment(s) {', '.join(used_by)}; update "
                "or delete them first."
            )
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM connections WHERE name=?", (name,))

    def _secrets(self, name: str) -> tuple[int, dict[str, str]] | None:
        row = self._row(name)
        if row is None:
            return None
        return int(row[2]), {str(k): str(v) for k, v in self.vault.open(row[1]).items()}

    # -- deployments ------------------------------------------------------------------------------
    def pin(
        self, variables: dict[str, str], field: str = "environment_variables"
    ) -> dict[str, Any]:
        """Check every reference in ``variables``; return ``{VAR: [[name, key, version], ...]}``.

        Raises:
            SecretsInjectionError: a referenced connection or key does not exist.
        """
        pinned: dict[str, Any] = {}
        for var, value in variables.items():
            refs = references(str(value))
            if not refs:
                continue
            entries = []
            for name, key in refs:
                found = self._secrets(name)
                if found is None:
                    raise SecretsInjectionError(
                        f"{field}.{var} references connection {name!r}, which does not exist "
                        f"({value}). Create it with `switchman connection create -f "
                        "connection.yml`, or fix the name."
                    )
                version, secrets = found
                if key not in secrets:
                    raise SecretsInjectionError(
                        f"{field}.{var} references key {key!r} of connection {name!r}, which has "
                        f"no such key (it has: {', '.join(sorted(secrets)) or 'none'}). Fix the "
                        "key, or add it to the connection and run `switchman connection create` "
                        "again."
                    )
                entries.append([name, key, version])
            pinned[var] = entries
        return pinned

    def environment(self, variables: dict[str, str]) -> dict[str, str]:
        """The referencing variables with their secrets filled in (for an instance's start)."""
        out: dict[str, str] = {}
        cache: dict[str, dict[str, str]] = {}
        for var, value in variables.items():
            refs = references(str(value))
            if not refs:
                continue
            lookup: dict[tuple[str, str], str] = {}
            for name, key in refs:
                if name not in cache:
                    found = self._secrets(name)
                    cache[name] = found[1] if found else {}
                if key not in cache[name]:
                    raise SecretsInjectionError(
                        f"environment_variables.{var}: connection {name!r} or its key {key!r} "
                        "was deleted after the deployment was created; recreate it."
                    )
                lookup[(name, key)] = cache[name][key]
            out[var] = substitute(str(value), lookup)
        return out

    def mask_deployment(self, endpoint: str, deployment: str, text: str) -> str:
        """``text`` with the secrets that deployment's variables resolve to masked."""
        dep = self.store.find_deployment(endpoint, deployment)
        if dep is None or not dep.resolved.get("secret_refs"):
            return text
        return self.mask(dict(dep.resolved.get("environment_variables") or {}), text)

    def mask(self, variables: dict[str, str], text: str) -> str:
        """``text`` with the values ``variables`` resolve to replaced by a mask."""
        if not any(references(str(v)) for v in variables.values()):
            return text
        try:
            values = self.environment(variables)
        except SecretsInjectionError:
            return text
        secrets = set()
        for var, value in values.items():
            for name, key in references(str(variables[var])):
                found = self._secrets(name)
                if found and found[1].get(key):
                    secrets.add(found[1][key])
            secrets.add(value)
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) >= 4:  # masking "a" would shred every log line
                text = text.replace(secret, MASK)
        return text


def without_references(variables: dict[str, str]) -> dict[str, str]:
    """The variables that hold no reference (safe to write into instance.json)."""
    return {k: v for k, v in variables.items() if not references(str(v))}


__all__ = ["ConnectionRegistry", "SecretsInjectionError", "without_references"]
