"""v1 service auth → endpoint ``auth_mode`` and the keys to keep (reference §7, §11.3).

- no auth → ``key`` with new keys (managed online endpoints have no "no auth" mode);
- ``authEnabled`` with keys → ``key`` keeping the primary and secondary keys, so clients keep working;
- ``authEnabled`` without keys in the input → ``key`` with new keys, and a warning on how to keep them;
- AKS token auth (``tokenAuthEnabled`` / ``aadAuthEnabled``) → ``aml_token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.errors import SpecFileError
from switchman.migrate.ledger import Ledger, mask
from switchman.migrate.source import V1Inputs

TOKEN_KEYS = ("tokenAuthEnabled", "aadAuthEnabled")
KEY_NAMES = ("primaryKey", "secondaryKey")
MIN_KEY_LENGTH = 8  # the control plane refuses shorter key values


@dataclass(frozen=True)
class AuthPlan:
    """The endpoint's auth mode and, for key auth, the v1 keys to set (None → generated)."""

    auth_mode: str
    primary_key: str | None = None
    secondary_key: str | None = None

    @property
    def keeps_keys(self) -> bool:
        return self.primary_key is not None or self.secondary_key is not None


def _flag(value: Any, file: Path, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SpecFileError(f"{file}: {field} must be true or false, got {value!r}.")


def _key(value: Any, file: Path, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise SpecFileError(
            f"{file}: {field} must be a key (text without spaces), got {type(value).__name__} "
            f"{mask(value)!r}."
        )
    if len(value) < MIN_KEY_LENGTH:
        raise SpecFileError(
            f"{file}: {field} is {len(value)} characters long; Switchman keys need at least "
            f"{MIN_KEY_LENGTH}. Leave the key out to get a new one."
        )
    return value


def _keys_from_service(inputs: V1Inputs) -> tuple[str | None, str | None, list[str]]:
    """Keys from ``keys{...}`` or top-level ``primaryKey``/``secondaryKey``, and where they were."""
    svc, file = inputs.service, inputs.service_path
    found: list[str] = []
    values: dict[str, str | None] = {}
    nested = svc.get("keys")
    if nested is not None and not isinstance(nested, dict):
        raise SpecFileError(f"{file}: keys must be an object with primaryKey and secondaryKey.")
    for name in KEY_NAMES:
        value = (nested or {}).get(name)
        field = f"keys.{name}"
        if value is None and svc.get(name) is not None:
            value, field = svc.get(name), name
        values[name] = _key(value, file, field)
        if values[name] is not None:
            found.append(field)
    return values["primaryKey"], values["secondaryKey"], found


def plan_auth(inputs: V1Inputs, ledger: Ledger) -> AuthPlan:
    """Decide the endpoint's auth and record what happened to every auth setting."""
    svc, file, src = inputs.service, inputs.service_path, inputs.service_source
    default_auth = inputs.kind == "aks"  # AksWebservice.deploy_configuration: auth_enabled=True
    token = False
    for name in TOKEN_KEYS:
        if svc.get(name) is not None:
            if inputs.kind != "aks":
                continue  # not an ACI setting: the ledger reports it as unknown
            token = token or _flag(svc[name], file, name)
    auth_given = svc.get("authEnabled")
    auth = _flag(auth_given, file, "authEnabled") if auth_given is not None else default_auth
    if token and auth_given is not None and auth:
        raise SpecFileError(
            f"{file}: authEnabled and tokenAuthEnabled are both true; a v1 service has one of key "
            "or token auth (v1 rejects both). Set the one the service really uses to true."
        )
    primary, secondary, key_fields = _keys_from_service(inputs)
    keys_src = ""
    if inputs.keys is not None and inputs.keys_path is not None:
        keys_src = inputs.keys_path.name
        ledger.observe(keys_src, inputs.keys)
        file_primary = _key(inputs.keys.get("primaryKey"), inputs.keys_path, "primaryKey")
        file_secondary = _key(inputs.keys.get("secondaryKey"), inputs.keys_path, "secondaryKey")
        if file_primary is None and file_secondary is None:
            raise SpecFileError(
                f"{inputs.keys_path}: expected the JSON `az ml service get-keys` prints: "
                '{"primaryKey": "...", "secondaryKey": "..."}.'
            )
        for field in key_fields:
            ledger.dropped(src, field, f"--keys-file {keys_src} gives the keys")
        primary, secondary, key_fields = file_primary, file_secondary, []

    if token:
        for name in TOKEN_KEYS:
            if svc.get(name) is not None:
                ledger.mapped(src, name, "auth_mode: aml_token")
        if auth_given is not None:
            ledger.mapped(
                src, "authEnabled", "auth_mode: aml_token", "token auth replaces key auth"
            )
        _drop_keys(ledger, src, keys_src, key_fields, "token auth has no keys")
        ledger.warn(
            "Token auth: v1 tokens do not work on the new endpoint; clients fetch a token with "
            "`switchman online-endpoint get-credentials -n <endpoint>` (it expires, as v1 tokens did)."
        )
        return AuthPlan("aml_token")

    if not auth:
        reason = "v1 service had no auth; managed online endpoints always have auth, so key auth with new keys"
        if auth_given is not None:
            ledger.mapped(src, "authEnabled", "auth_mode: key", reason)
        else:
            ledger.defaulted("authEnabled", False, "auth_mode: key", reason)
        _drop_keys(ledger, src, keys_src, key_fields, "auth was off in v1, so the keys were unused")
        ledger.warn(
            "The v1 service had no auth; the new endpoint uses key auth. Clients must now send "
            "`Authorization: Bearer <key>` (get the key with `switchman online-endpoint get-credentials`)."
        )
        return AuthPlan("key")

    why = "key auth, as in v1"
    if auth_given is not None:
        ledger.mapped(src, "authEnabled", "auth_mode: key", why)
    else:
        ledger.defaulted("authEnabled", True, "auth_mode: key", "v1 AKS default: " + why)
    if primary is None and secondary is None:
        ledger.warn(
            "The v1 keys were not in the input, so the new endpoint gets new keys and existing clients "
            "must change theirs. To keep the v1 keys, save `az ml service get-keys -n <service>` to a "
            "file and pass it with --keys-file."
        )
        return AuthPlan("key")
    target = "endpoint keys (set with regenerate-keys --key-value on --apply)"
    for field in key_fields:
        ledger.mapped(src, field, target, "kept so existing clients keep working")
    if keys_src:
        ledger.mapped(keys_src, "primaryKey", target, "kept so existing clients keep working")
        if secondary is not None:
            ledger.mapped(keys_src, "secondaryKey", target, "kept so existing clients keep working")
    if primary is None or secondary is None:
        ledger.warn(
            f"Only the {'secondary' if primary is None else 'primary'} v1 key was given; the other "
            "key of the new endpoint is generated."
        )
    return AuthPlan("key", primary, secondary)


def _drop_keys(ledger: Ledger, src: str, keys_src: str, fields: list[str], reason: str) -> None:
    for field in fields:
        ledger.dropped(src, field, reason)
    for name in KEY_NAMES:
        if keys_src and ledger.seen(keys_src, name):
            ledger.dropped(keys_src, name, reason)
