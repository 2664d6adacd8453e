"""The ledger of a migration: every v1 setting seen and what became of it.

The converter first *observes* each input document (flattened to dotted keys), then records an
outcome for each setting it handles. :meth:`Ledger.finish` turns whatever was seen but not handled
into a "dropped" entry with a warning, so MIGRATION.md lists every v1 setting, even ones this tool
does not know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["mapped", "defaulted", "dropped"]

# Values that must not be printed in full: auth keys, TLS private keys and certificates.
SECRET_NAMES = frozenset({"primarykey", "secondarykey", "sslkey", "sslcertificate"})
MAX_SHOWN = 120


def mask(value: Any) -> str:
    """A secret shown by its first four characters and its length."""
    text = str(value)
    return f"{text[:4]}… ({len(text)} characters)" if len(text) > 4 else "****"


def show(setting: str, value: Any) -> str:
    """A setting's value as one short line for the report (secrets masked)."""
    if value is None:
        return ""
    if setting.rsplit(".", 1)[-1].lower() in SECRET_NAMES:
        return mask(value)
    value = _redact(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


@dataclass(frozen=True)
class Entry:
    """What happened to one v1 setting.

    Attributes:
        source: the file (or "v1 default") the setting came from.
        setting: dotted key in that file, e.g. ``containerResourceRequirements.cpu``.
        value: the value shown in the report (secrets masked).
        outcome: mapped (carried over), defaulted (absent; a default applies), dropped (not carried).
        target: the v2 field it became, when any.
        reason: why, in one sentence.
    """

    source: str
    setting: str
    value: str
    outcome: Outcome
    target: str
    reason: str


@dataclass
class Ledger:
    """Collects settings seen, outcomes and warnings; not thread-safe (one conversion at a time)."""

    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _seen: dict[tuple[str, str], Any] = field(default_factory=dict)
    _done: set[tuple[str, str]] = field(default_factory=set)

    def observe(self, source: str, data: Mapping[str, Any], opaque: Iterable[str] = ()) -> None:
        """Flatten ``data`` into dotted settings; keys in ``opaque`` (dotted) stay whole."""
        whole = frozenset(opaque)

        def walk(prefix: str, value: Any) -> None:
            if value is None:  # `serialize()` writes every unset field as null
                return
            if isinstance(value, Mapping) and value and prefix not in whole:
                for key, child in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), child)
                return
            self._seen[(source, prefix)] = value

        walk("", data)

    def seen(self, source: str, prefix: str) -> bool:
        """Whether ``prefix`` or anything under it was seen in ``source``."""
        return any(s == source and _under(k, prefix) for s, k in self._seen)

    def record(
        self,
        source: str,
        prefix: str,
        outcome: Outcome,
        target: str,
        reason: str,
        value: Any = None,
    ) -> None:
        """Record the outcome of ``prefix`` (and everything seen under it) in ``source``."""
        keys = [k for s, k in self._seen if s == source and _under(k, prefix)]
        if value is None:
            shown_value: Any = (
                self._seen.get((source, prefix))
                if (source, prefix) in self._seen
                else _rebuild(prefix, {k: self._seen[(source, k)] for k in keys})
            )
        else:
            shown_value = value
        for key in keys:
            self._done.add((source, key))
        self.entries.append(
            Entry(source, prefix, show(prefix, shown_value), outcome, target, reason)
        )

    def mapped(
        self, source: str, prefix: str, target: str, reason: str = "", value: Any = None
    ) -> None:
        self.record(source, prefix, "mapped", target, reason, value)

    def dropped(self, source: str, prefix: str, reason: str, *, warn: bool = False) -> None:
        self.record(source, prefix, "dropped", "", reason)
        if warn:
            self.warnings.append(f"{prefix} ({source}) is not carried over: {reason}")

    def defaulted(self, setting: str, value: Any, target: str, reason: str) -> None:
        """A v1 setting the input did not give: its v1 default (or a v2 default) applies."""
        self.entries.append(
            Entry("v1 default", setting, show(setting, value), "defaulted", target, reason)
        )

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def finish(self) -> None:
        """Record every setting seen but not handled as dropped, with a warning naming it."""
        for source, key in list(self._seen):
            if (source, key) in self._done:
                continue
            self.dropped(
                source,
                key,
                "not a v1 setting this tool knows; check whether it matters for the new endpoint",
                warn=True,
            )


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: mask(v) if str(k).lower() in SECRET_NAMES and v is not None else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".")


def _rebuild(prefix: str, leaves: Mapping[str, Any]) -> dict[str, Any]:
    """The nested mapping under ``prefix`` rebuilt from flattened leaves (for display)."""
    out: dict[str, Any] = {}
    for key, value in leaves.items():
        parts = key[len(prefix) + 1 :].split(".") if prefix else key.split(".")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out
