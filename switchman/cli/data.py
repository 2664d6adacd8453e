"""`switchman data create|show|list`: registered data assets (uri_file, uri_folder)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from switchman.cli.common import add_no_wait, add_set, client, verb_factory
from switchman.errors import BadArgumentError


def register(sub: Any) -> None:
    group = sub.add_parser("data", help="Manage data assets.")
    leaf = verb_factory(group)
    create = leaf("create", cmd_create, "Register a data asset version.")
    create.add_argument("-f", "--file", help="data YAML.")
    create.add_argument("-n", "--name", help="Name (overrides the file).")
    create.add_argument("-v", "--version", help="Version (default: the next integer).")
    create.add_argument("-t", "--type", choices=["uri_folder", "uri_file", "mltable"], help="Type.")
    create.add_argument("-p", "--path", help="Local path, azureml:// datastore path or URL.")
    create.add_argument("--description", help="Description.")
    create.add_argument("--datastore", help="Upload target; recorded only.")
    add_set(create)
    add_no_wait(create)
    show = leaf("show", cmd_show, "Show a data asset version.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("-v", "--version", help="Version.")
    show.add_argument("-l", "--label", help="latest.")
    lst = leaf("list", cmd_list, "List data assets (all versions of one with -n).")
    lst.add_argument("-n", "--name", help="Only this asset's versions.")


def cmd_create(args: argparse.Namespace) -> Any:
    from switchman.spec.data import DataSpec
    from switchman.spec.loader import absolute, load_spec

    path = args.path
    if path and not path.startswith(("azureml:", "http://", "https://")):
        path = str(Path(path).expanduser().resolve())
    defaults = {
        "name": args.name,
        "version": args.version,
        "type": args.type,
        "path": path,
        "description": args.description,
        "datastore": args.datastore,
    }
    spec, folder = load_spec(DataSpec, args.file, overrides=args.set_values, defaults=defaults)
    if spec.path:
        spec.path = absolute(spec.path, folder)
    with client() as c:
        return c.batch("POST", "/data", {"spec": spec.to_dict()})


def cmd_show(args: argparse.Namespace) -> Any:
    name = quote(args.name, safe="")
    if args.version and args.label:
        raise BadArgumentError("Give either -v/--version or -l/--label, not both.")
    if args.label not in (None, "latest"):
        raise BadArgumentError(f"Unknown label {args.label!r}: the only label is `latest`.")
    path = (
        f"/data/{name}/versions/{quote(args.version, safe='')}"
        if args.version
        else f"/data/{name}/latest"
    )
    with client() as c:
        return c.batch("GET", path)


def cmd_list(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", "/data", name=args.name)
