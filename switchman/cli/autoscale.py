"""``switchman monitor autoscale ...``: ``az monitor autoscale`` with the same verbs and flags.

``create|update|show|list|delete``, ``rule create|list|delete``, ``profile create|list|show|delete``
talk to the control plane (``/api/autoscale/settings``), which validates and stores the setting.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from switchman.cli.common import client


def _call(
    method: str, path: str = "", body: Any = None, params: dict[str, Any] | None = None
) -> Any:
    with client() as api:
        return api.autoscale(method, path, body, params)


def _n(name: str) -> str:
    return "/" + quote(name, safe="")


# -- handlers ------------------------------------------------------------------------------------


def create(args: argparse.Namespace) -> Any:
    enabled = args.enabled if args.enabled is not None else ("false" if args.disabled else "true")
    body = {
        "name": args.name,
        "resource": args.resource,
        "min_count": args.min_count,
        "max_count": args.max_count,
        "count": args.count,
        "enabled": enabled,
        "idle_window": args.idle_window,
        "tags": dict(t.split("=", 1) if "=" in t else (t, "") for t in args.tags or []),
    }
    return _call("POST", "", body)


def update(args: argparse.Namespace) -> Any:
    body = {
        "min_count": args.min_count,
        "max_count": args.max_count,
        "count": args.count,
        "enabled": args.enabled,
        "idle_window": args.idle_window,
    }
    return _call("PATCH", _n(args.name), {k: v for k, v in body.items() if v is not None})


def show(args: argparse.Namespace) -> Any:
    return _call("GET", _n(args.name))


def list_(args: argparse.Namespace) -> Any:
    return _call("GET")


def delete(args: argparse.Namespace) -> None:
    _call("DELETE", _n(args.name))


def rule_create(args: argparse.Namespace) -> Any:
    body = {
        "condition": args.condition,
        "scale": args.scale,
        "cooldown": args.cooldown,
        "resource": args.resource,
        "profile_name": args.profile_name,
        "timegrain": args.timegrain,
    }
    return _call("POST", _n(args.autoscale_name) + "/rules", body)


def rule_list(args: argparse.Namespace) -> Any:
    params = {"profile": args.profile_name} if args.profile_name else None
    return _call("GET", _n(args.autoscale_name) + "/rules", params=params)


def rule_delete(args: argparse.Namespace) -> None:
    params = {"profile": args.profile_name} if args.profile_name else None
    indexes = list(args.index)
    if "*" in indexes:
        indexes = ["*"]
    else:
        # Check every index first, then delete from the highest so the others keep their place.
        count = len(_call("GET", _n(args.autoscale_name) + "/rules", params=params))
        bad = [i for i in indexes if not i.isdigit() or int(i) >= count]
        if bad:
            _call("DELETE", _n(args.autoscale_name) + "/rules/" + quote(bad[0]), params=params)
        indexes = sorted(set(indexes), key=int, reverse=True)
    for index in indexes:
        _call("DELETE", _n(args.autoscale_name) + "/rules/" + quote(index, safe="*"), params=params)


def profile_create(args: argparse.Namespace) -> Any:
    body = {
        "name": args.name,
        "min_count": args.min_count,
        "max_count": args.max_count,
        "count": args.count,
        "recurrence": args.recurrence,
        "timezone": args.timezone,
        "start": args.start,
        "end": args.end,
        "copy_rules": args.copy_rules,
    }
    return _call("POST", _n(args.autoscale_name) + "/profiles", body)


def profile_list(args: argparse.Namespace) -> Any:
    return _call("GET", _n(args.autoscale_name) + "/profiles")


def profile_show(args: argparse.Namespace) -> Any:
    return _call("GET", _n(args.autoscale_name) + "/profiles" + _n(args.name))


def profile_delete(args: argparse.Namespace) -> None:
    _call("DELETE", _n(args.autoscale_name) + "/profiles" + _n(args.name))


# -- the command tree ----------------------------------------------------------------------------


def _counts(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--min-count", type=int, required=required, help="Fewest instances (0 scales to zero)."
    )
    parser.add_argument("--max-count", type=int, required=required, help="Most instances.")
    parser.add_argument("--count", type=int, required=False, help="Default instance count.")


def register(monitor_sub: Any) -> None:
    """Add ``autoscale`` under ``switchman monitor``."""
    from switchman.cli.main import add_common

    group = monitor_sub.add_parser(
        "autoscale", help="Autoscale settings as az monitor autoscale (rules, profiles, schedules)."
    )
    verbs = group.add_subparsers(dest="autoscale_command", metavar="VERB", parser_class=type(group))
    verbs.required = True

    def leaf(sub: Any, name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        add_common(parser)
        parser.set_defaults(func=func)
        return parser

    p = leaf(verbs, "create", create, "Create an autoscale setting for a deployment.")
    p.add_argument(
        "-n", "--name", "--autoscale-name", dest="name", required=True, help="Setting name."
    )
    p.add_argument(
        "--resource", required=True, help="Deployment id (`online-deployment show --query id`)."
    )
    _counts(p, required=True)
    p.add_argument(
        "--enabled", choices=("true", "false"), default=None, help="On (default) or off."
    )
    p.add_argument("--disabled", action="store_true", help="Create it switched off.")
    p.add_argument(
        "--idle-window", help="Scale-to-zero idle window (min-count 0), e.g. 5m (default)."
    )
    p.add_argument("--tags", nargs="*", help="key=value tags.")
    p.add_argument(
        "--resource-type",
        "--resource-namespace",
        "--resource-parent",
        dest="_ignored",
        help=argparse.SUPPRESS,
    )
    p.add_argument(
        "--action",
        "--email-administrator",
        "--email-coadministrators",
        dest="_ignored2",
        nargs="*",
        help=argparse.SUPPRESS,
    )
    p = leaf(verbs, "update", update, "Change capacity, enable or disable a setting.")
    p.add_argument(
        "-n", "--name", "--autoscale-name", dest="name", required=True, help="Setting name."
    )
    _counts(p, required=False)
    p.add_argument(
        "--enabled", choices=("true", "false"), default=None, help="Switch it on or off."
    )
    p.add_argument("--idle-window", help="Scale-to-zero idle window, e.g. 5m.")
    p = leaf(verbs, "show", show, "Show a setting with its status and scale history.")
    p.add_argument(
        "-n", "--name", "--autoscale-name", dest="name", required=True, help="Setting name."
    )
    leaf(verbs, "list", list_, "List autoscale settings.")
    p = leaf(verbs, "delete", delete, "Delete a setting (the current count stays).")
    p.add_argument(
        "-n", "--name", "--autoscale-name", dest="name", required=True, help="Setting name."
    )

    rule = verbs.add_parser("rule", help="Metric rules of a profile.")
    rule_verbs = rule.add_subparsers(dest="rule_command", metavar="VERB", parser_class=type(group))
    rule_verbs.required = True
    p = leaf(rule_verbs, "create", rule_create, "Add a metric rule.")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument(
        "--condition",
        required=True,
        help='"<metric> <op> <threshold> <avg|min|max|total|count> <window> [where DIM == V]".',
    )
    p.add_argument(
        "--scale", nargs="+", required=True, help="out N | in N | to N [%% | percent] | target."
    )
    p.add_argument(
        "--cooldown", default="5", help="Minutes (or 30s) before this rule acts again (default 5)."
    )
    p.add_argument(
        "--resource", help="Where the metric comes from (default: the setting's target)."
    )
    p.add_argument("--profile-name", help="Profile (default: default).")
    p.add_argument("--timegrain", help='"avg 1s" (default): statistic across instances per grain.')
    p = leaf(rule_verbs, "list", rule_list, "List the rules of a profile.")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument("--profile-name", help="Profile (default: default).")
    p = leaf(rule_verbs, "delete", rule_delete, "Delete rules by index (see rule list), or '*'.")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument("--index", nargs="+", required=True, help="Rule indexes, or '*'.")
    p.add_argument("--profile-name", help="Profile (default: default).")

    profile = verbs.add_parser("profile", help="Capacity profiles: default, recurring, fixed date.")
    prof_verbs = profile.add_subparsers(
        dest="profile_command", metavar="VERB", parser_class=type(group)
    )
    prof_verbs.required = True
    p = leaf(prof_verbs, "create", profile_create, "Add a profile (recurring or fixed-date).")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument("-n", "--name", required=True, help="Profile name.")
    _counts(p, required=True)
    p.add_argument("--recurrence", nargs="+", help="week <days>, e.g. week sat sun.")
    p.add_argument("--timezone", help='Windows ("Pacific Standard Time") or IANA zone name.')
    p.add_argument("--start", help="Recurring: HH:MM; fixed date: ISO 8601 date-time.")
    p.add_argument("--end", help="Recurring: HH:MM; fixed date: ISO 8601 date-time.")
    p.add_argument("--copy-rules", help="Copy the rules of this profile.")
    p = leaf(prof_verbs, "list", profile_list, "List profiles.")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p = leaf(prof_verbs, "show", profile_show, "Show one profile.")
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument("-n", "--name", required=True, help="Profile name.")
    p = leaf(
        prof_verbs, "delete", profile_delete, "Delete a profile (the default profile applies)."
    )
    p.add_argument("--autoscale-name", required=True, help="Setting name.")
    p.add_argument("-n", "--name", required=True, help="Profile name.")
