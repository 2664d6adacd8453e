"""Workspace connection YAML (``az ml connection create -f connection.yml``), as Azure ML shapes it.

A connection is a name, a ``type``, an optional ``target`` and credentials. The credentials are
split off at once: :func:`parse_connection` returns the public document (what ``show`` prints,
secret values replaced by a mask) and the secret values, keyed as a deployment references them in
``${{azureml://connections/<name>/credentials/<key>}}``.

Shapes accepted (Azure ML's):

- ``credentials: {type: api_key, key: K}`` or a top-level ``api_key: K`` (``azure_open_ai``,
  ``api_key``, ``openai``, ``serp``, ...): reference key ``key``.
- ``credentials: {type: custom_keys, keys: {a: .., b: ..}}`` (``type: custom``): one key per entry.
- ``credentials: {type: username_password, username: U, password: P}``: ``username``, ``password``.
- ``pat``, ``sas`` (``sas_token``), ``access_key`` (``access_key_id``, ``secret_access_key``),
  ``service_principal`` (``client_id``, ``client_secret``, ``tenant_id``), ``none``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NoReturn

from switchman.errors import BadArgumentError

MASK = "***"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")

CONNECTION_TYPES = (
    "custom",
    "api_key",
    "azure_open_ai",
    "openai",
    "serp",
    "azure_ai_search",
    "azure_ai_services",
    "azure_content_safety",
    "azure_speech_services",
    "cognitive_search",
    "cognitive_service",
    "git",
    "python_feed",
    "container_registry",
    "s3",
    "snowflake",
    "azure_sql_db",
    "azure_synapse_analytics",
    "azure_mysql_db",
    "azure_postgres_db",
    "azure_blob",
    "adls_gen_2",
    "azure_one_lake",
    "serverless",
)

# credentials.type → the secret fields it carries (custom_keys: whatever ``keys`` holds)
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "api_key": ("key",),
    "custom_keys": (),
    "username_password": ("username", "password"),
    "pat": ("pat",),
    "sas": ("sas_token",),
    "access_key": ("access_key_id", "secret_access_key"),
    "service_principal": ("client_id", "client_secret", "tenant_id"),
    "none": (),
}
_ALIASES = {"custom": "custom_keys", "custom_key": "custom_keys", "account_key": "api_key"}
_PUBLIC_KEYS = ("name", "type", "target", "api_base", "description", "tags", "metadata", "$schema")


@dataclass(frozen=True)
class Connection:
    """One parsed connection: what may be shown, and the secrets (never shown)."""

    name: str
    document: dict[str, Any]
    secrets: dict[str, str]


def _fail(source: str, field: str, what: str, fix: str) -> NoReturn:
    raise BadArgumentError(f"{source}: {field} {what}. {fix}")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def parse_connection(data: Any, source: str = "connection.yml") -> Connection:
    """Validate a connection document and split its secrets off.

    Raises:
        BadArgumentError: a one-paragraph error naming ``source``, the field and the fix.
    """
    if not isinstance(data, dict):
        _fail(source, "the document", "must be a mapping", "Give name, type and credentials.")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        _fail(
            source,
            "name",
            f"must be letters, digits, '-' or '_' (got {name!r})",
            "Set name: my-connection (or pass -n).",
        )
    kind = data.get("type")
    if kind not in CONNECTION_TYPES:
        _fail(
            source,
            "type",
            f"{kind!r} is not a connection type Switchman knows",
            f"Use one of: {', '.join(CONNECTION_TYPES)} (custom holds any keys).",
        )
    unknown = sorted(set(data) - {*_PUBLIC_KEYS, "credentials", "api_key"})
    if unknown:
        _fail(
            source,
            unknown[0],
            "is not a connection field",
            f"Known fields: {', '.join((*_PUBLIC_KEYS[:-1], 'credentials', 'api_key'))}.",
        )
    creds = data.get("credentials")
    top_key = data.get("api_key")
    if creds is None and top_key is not None:
        creds = {"type": "api_key", "key": top_key}
    if creds is None:
        creds = {"type": "none"}
    if not isinstance(creds, dict):
        _fail(
            source,
            "credentials",
            "must be a mapping",
            "Give credentials: {type: api_key, key: ...}.",
        )
    ctype = creds.get("type")
    if ctype is None:
        ctype = "custom_keys" if "keys" in creds else "api_key" if "key" in creds else None
    ctype = _ALIASES.get(str(ctype), ctype)
    if ctype not in CREDENTIAL_FIELDS:
        _fail(
            source,
            "credentials.type",
            f"{ctype!r} is not a credential type",
            f"Use one of: {', '.join(CREDENTIAL_FIELDS)}.",
        )
    secrets: dict[str, str] = {}
    if ctype == "custom_keys":
        keys = creds.get("keys")
        if not isinstance(keys, dict) or not keys:
            _fail(
                source,
                "credentials.keys",
                "must be a non-empty mapping of key name to value",
                "Give credentials: {type: custom_keys, keys: {MY_KEY: value}}.",
            )
        for key, value in keys.items():
            text = _text(value)
            if text is None:
                _fail(source, f"credentials.keys.{key}", "must be a string", "Quote the value.")
            secrets[str(key)] = str(text)
    else:
        for field in CREDENTIAL_FIELDS[ctype]:
            value = creds.get(field)
            if value is None and not (ctype == "service_principal" and field == "tenant_id"):
                _fail(
                    source,
                    f"credentials.{field}",
                    f"is missing (credentials.type {ctype} needs {', '.join(CREDENTIAL_FIELDS[ctype])})",
                    "Add it to the file.",
                )
            text = _text(value)
            if value is not None and text is None:
                _fail(source, f"credentials.{field}", "must be a string", "Quote the value.")
            if text is not None:
                secrets[field] = text
    extra = sorted(set(creds) - {"type", "keys", *CREDENTIAL_FIELDS[ctype]})
    if extra:
        _fail(
            source,
            f"credentials.{extra[0]}",
            f"is not a field of credentials.type {ctype}",
            f"Fields: {', '.join(CREDENTIAL_FIELDS[ctype]) or 'keys'}.",
        )
    document: dict[str, Any] = {k: data[k] for k in _PUBLIC_KEYS if k in data and k != "$schema"}
    document["credentials"] = {"type": ctype, **dict.fromkeys(secrets, MASK)}
    return Connection(name=name, document=document, secrets=secrets)


# ${{azureml://connections/<name>/credentials/<key>}}, the whole value or inside a longer one
REFERENCE = re.compile(
    r"\$\{\{\s*azureml://connections/(?P<name>[^/\s}]+)/credentials/(?P<key>[^/\s}]+)\s*\}\}"
)


def references(value: str) -> list[tuple[str, str]]:
    """The (connection, key) pairs a value references."""
    return [(m["name"], m["key"]) for m in REFERENCE.finditer(value)]


def substitute(value: str, lookup: dict[tuple[str, str], str]) -> str:
    """``value`` with every reference replaced by its secret (all must be in ``lookup``)."""
    return REFERENCE.sub(lambda m: lookup[(m["name"], m["key"])], value)


__all__ = [
    "CONNECTION_TYPES",
    "CREDENTIAL_FIELDS",
    "MASK",
    "REFERENCE",
    "Connection",
    "parse_connection",
    "references",
    "substitute",
]
