"""`switchman compute create|show|list|delete`: compute clusters for batch jobs."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from switchman.cli.common import add_no_wait, add_set, client, confirm, verb_factory


def register(sub: Any) -> None:
    group = sub.add_parser("compute", help="Manage compute clusters (amlcompute).")
    leaf = verb_factory(group)
    create = leaf("create", cmd_create, "Create a compute cluster.")
    create.add_argument("-f", "--file", help="compute YAML.")
    create.add_argument("-n", "--name", help="Cluster name (overrides the file).")
    create.add_argument("--type", "-t", help="amlcompute.")
    create.add_argument("--size", help="VM size of every node, e.g. Standard_DS3_v2.")
    create.add_argument("--min-instances", type=int, help="Nodes kept when idle (default 0).")
    create.add_argument("--max-instances", type=int, help="Most nodes at once (default 1).")
    create.add_argument(
        "--idle-time-before-scale-down", type=int, help="Seconds before an idle node goes."
    )
    create.add_argument("--tier", help="dedicated or low_priority (recorded).")
    create.add_argument("--description", help="Description.")
    add_set(create)
    add_no_wait(create)
    show = leaf("show", cmd_show, "Show a cluster with its current nodes.")
    show.add_argument("-n", "--name", required=True)
    leaf("list", cmd_list, "List compute clusters.")
    delete = leaf("delete", cmd_delete, "Delete a compute cluster.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    add_no_wait(delete)


def cmd_create(args: argparse.Namespace) -> Any:
    from switchman.spec.compute import AmlComputeSpec
    from switchman.spec.loader import load_spec

    defaults = {
        "name": args.name,
        "type": args.type,
        "size": args.size,
        "min_instances": args.min_instances,
        "max_instances": args.max_instances,
        "idle_time_before_scale_down": args.idle_time_before_scale_down,
        "tier": args.tier,
        "description": args.description,
    }
    spec, _ = load_spec(AmlComputeSpec, args.file, overrides=args.set_values, defaults=defaults)
    with client() as c:
        return c.batch("POST", "/computes", {"spec": spec.to_dict()})


def cmd_show(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", f"/computes/{quote(args.name, safe='')}")


def cmd_list(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", "/computes")


def cmd_delete(args: argparse.Namespace) -> Any:
    confirm(args, f"Delete compute {args.name!r}?")
    with client() as c:
        c.batch("DELETE", f"/computes/{quote(args.name, safe='')}")
    return None
