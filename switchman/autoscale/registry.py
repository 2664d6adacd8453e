"""The ``monitor autoscale`` verbs as operations on stored settings (transport-agnostic core).

Every operation validates first and writes once, so a bad flag changes nothing. The REST routes
(``switchman.controlplane.api_autoscale``) only parse, call these and serialise.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from switchman.autoscale import setting as S
from switchman.autoscale.table import AutoscaleTable
from switchman.controlplane.store import Store
from switchman.errors import BadArgumentError, ConflictError, NotFoundError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,259}$")


class AutoscaleRegistry:
    """Create, change and delete autoscale settings, their rules and profiles."""

    def __init__(self, store: Store, table: AutoscaleTable) -> None:
        self.store = store
        self.table = table

    # -- lookups -------------------------------------------------------------------------------

    def _existing(self, resource: S.Resource, uri: str, *, what: str) -> None:
        if self.store.find_endpoint(resource.endpoint) is None:
            raise NotFoundError(
                f"{what} {uri!r} names online endpoint {resource.endpoint!r}, which does not "
                "exist; see `switchman online-endpoint list`."
            )
        if resource.deployment and not self.store.find_deployment(
            resource.endpoint, resource.deployment
        ):
            raise NotFoundError(
                f"{what} {uri!r} names deployment {resource.deployment!r}, which endpoint "
                f"{resource.endpoint!r} does not have; see `switchman online-deployment list -e "
                f"{resource.endpoint}`."
            )

    def get(self, name: str) -> dict[str, Any]:
        doc = self.table.get(name)
        if doc is None:
            names = ", ".join(d["name"] for d in self.table.all()) or "none"
            raise NotFoundError(
                f"Autoscale setting {name!r} does not exist (settings: {names}). Create it with "
                "`switchman monitor autoscale create --name NAME --resource DEPLOYMENT_ID "
                "--min-count N --max-count N --count N`."
            )
        return doc

    def show(self, name: str) -> dict[str, Any]:
        doc = self.get(name)
        state = self.table.state(name)
        return {
            **doc,
            "status": {"activeProfile": state.profile, "lastScaleTime": state.last_scale},
            "history": self.table.history(name),
        }

    def all(self) -> list[dict[str, Any]]:
        return self.table.all()

    # -- settings ------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name") or "")
        if not _NAME.match(name):
            raise BadArgumentError(
                f"--name {name!r} is not a valid autoscale setting name: use letters, digits, "
                "'-', '_' or '.', starting with a letter or digit."
            )
        uri = str(body.get("resource") or "")
        resource = S.parse_resource(uri)
        if resource.deployment is None:
            raise BadArgumentError(
                f"--resource {uri!r} is an endpoint: autoscale targets a deployment; use the id "
                "from `switchman online-deployment show -e EP -n DEP --query id`."
            )
        self._existing(resource, uri, what="--resource")
        if self.table.get(name) is not None:
            raise ConflictError(
                f"Autoscale setting {name!r} already exists; change it with `switchman monitor "
                "autoscale update --name NAME ...` or delete it first."
            )
        dep = self.store.get_deployment(resource.endpoint, resource.deployment)
        count = body.get("count")
        minimum, maximum = _int(body, "min_count"), _int(body, "max_count")
        doc = S.new_setting(
            name,
            uri,
            minimum=minimum,
            maximum=maximum,
            count=int(count)
            if count is not None
            else _clamp(int(dep.spec.get("instance_count", 1)), minimum, maximum),
            enabled=_bool(body.get("enabled", True)),
            idle_window=body.get("idle_window"),
            tags=body.get("tags"),
        )
        taken = self.table.for_deployment(resource.endpoint, resource.deployment)
        if taken:
            raise ConflictError(
                f"Deployment {resource.deployment!r} of endpoint {resource.endpoint!r} already has "
                f"autoscale setting {taken[0]['name']!r}; a deployment has at most one."
            )
        self.table.put(doc, resource.endpoint, resource.deployment, new=True)
        self._event(doc, "AutoscaleSettingCreated", f"Autoscale setting {name} created")
        return doc

    def update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        doc = self.get(name)
        new = S.update_setting(
            doc,
            minimum=_opt_int(body, "min_count"),
            maximum=_opt_int(body, "max_count"),
            count=_opt_int(body, "count"),
            enabled=_bool(body["enabled"]) if body.get("enabled") is not None else None,
            idle_window=body.get("idle_window"),
        )
        target = S.parse_resource(new["targetResourceUri"])
        self.table.put(new, target.endpoint, target.deployment or "", new=False)
        if new.get("enabled") != doc.get("enabled"):
            state = "enabled" if new["enabled"] else "disabled (the current count is kept)"
            self._event(new, "AutoscaleSettingUpdated", f"Autoscale setting {name} {state}")
        return new

    def delete(self, name: str) -> None:
        doc = self.get(name)
        self.table.delete(name)
        self._event(doc, "AutoscaleSettingDeleted", f"Autoscale setting {name} deleted")

    # -- rules ---------------------------------------------------------------------------------

    def rule_create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        doc = self.get(name)
        uri = str(body.get("resource") or doc["targetResourceUri"])
        resource = S.parse_resource(uri)
        self._existing(resource, uri, what="--resource")
        scale = body.get("scale") or []
        if isinstance(scale, str):
            scale = scale.split()
        rule = S.make_rule(
            str(body.get("condition") or ""),
            [str(s) for s in scale],
            resource_uri=uri,
            cooldown=str(body.get("cooldown") if body.get("cooldown") is not None else "5"),
            timegrain=body.get("timegrain"),
        )
        S.check_metric_scope(rule, resource)
        profile_name = str(body.get("profile_name") or S.DEFAULT_PROFILE)
        new = copy.deepcopy(doc)
        profile = next((p for p in new["profiles"] if p["name"] == profile_name), None)
        if profile is None:
            S.find_profile(doc, profile_name)  # raises with the profile names
            raise AssertionError
        profile["rules"].append(rule)
        self._save(new)
        return rule

    def rule_list(self, name: str, profile_name: str | None) -> list[dict[str, Any]]:
        doc = self.get(name)
        profile = S.find_profile(doc, profile_name or S.DEFAULT_PROFILE)
        return [{"index": i, **r} for i, r in enumerate(profile["rules"])]

    def rule_delete(self, name: str, profile_name: str | None, index: str) -> None:
        doc = self.get(name)
        new = copy.deepcopy(doc)
        pname = profile_name or S.DEFAULT_PROFILE
        S.find_profile(doc, pname)
        profile = next(p for p in new["profiles"] if p["name"] == pname)
        count = len(profile["rules"])
        if index == "*":
            profile["rules"] = []
        else:
            try:
                at = int(index)
            except ValueError:
                at = -1
            if not 0 <= at < count:
                raise BadArgumentError(
                    f"--index {index!r} names no rule of profile {pname!r}: it has {count} rule(s), "
                    f"indexes 0..{count - 1} (see `rule list`), or use --index '*' for all."
                )
            del profile["rules"][at]
        self._save(new)

    # -- profiles ------------------------------------------------------------------------------

    def profile_create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        doc = self.get(name)
        pname = str(body.get("name") or "")
        if not pname:
            raise BadArgumentError("profile create needs --name (the profile's name).")
        if any(p["name"] == pname for p in doc["profiles"]):
            raise ConflictError(
                f"Autoscale setting {name!r} already has profile {pname!r}; delete it first."
            )
        rules: list[dict[str, Any]] = []
        copy_from = body.get("copy_rules")
        if copy_from:
            rules = copy.deepcopy(S.find_profile(doc, str(copy_from))["rules"])
        recurrence = body.get("recurrence")
        if isinstance(recurrence, str):
            recurrence = recurrence.split()
        profile = S.make_profile(
            pname,
            minimum=_int(body, "min_count"),
            maximum=_int(body, "max_count"),
            count=_int(body, "count"),
            timezone=body.get("timezone"),
            recurrence=[str(r) for r in recurrence] if recurrence else None,
            start=body.get("start"),
            end=body.get("end"),
            rules=rules,
        )
        new = copy.deepcopy(doc)
        new["profiles"].append(profile)
        self._save(new)
        return profile

    def profile_list(self, name: str) -> list[dict[str, Any]]:
        return list(self.get(name)["profiles"])

    def profile_show(self, name: str, profile_name: str) -> dict[str, Any]:
        return S.find_profile(self.get(name), profile_name)

    def profile_delete(self, name: str, profile_name: str) -> None:
        doc = self.get(name)
        S.find_profile(doc, profile_name)
        new = copy.deepcopy(doc)
        new["profiles"] = [p for p in new["profiles"] if p["name"] != profile_name]
        if S.default_profile(new) is None:
            raise BadArgumentError(
                f"Profile {profile_name!r} is the only default profile (no recurrence, no fixed "
                f"date) of autoscale setting {name!r}; a setting keeps one to fall back to. Change "
                "it with `monitor autoscale update`, or delete the whole setting."
            )
        self._save(new)

    # -- helpers -------------------------------------------------------------------------------

    def _save(self, doc: dict[str, Any]) -> None:
        S.parse(doc)  # the typed form must build: never store what the applier cannot read
        target = S.parse_resource(doc["targetResourceUri"])
        self.table.put(doc, target.endpoint, target.deployment or "", new=False)

    def _event(self, doc: dict[str, Any], name: str, message: str) -> None:
        target = S.parse_resource(doc["targetResourceUri"])
        self.store.add_event(name, message, endpoint=target.endpoint, deployment=target.deployment)


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    flag = "--" + key.replace("_", "-")
    if value is None:
        raise BadArgumentError(f"{flag} is required: give a whole number of instances.")
    return _as_int(value, flag)


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    return None if value is None else _as_int(value, "--" + key.replace("_", "-"))


def _as_int(value: Any, flag: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise BadArgumentError(f"{flag} {value!r} is not a whole number of instances.") from None
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise BadArgumentError(f"--enabled {value!r} must be true or false.")


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, value))
