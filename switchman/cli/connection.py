"""`switchman connection create|update|show|list|delete`: workspace connections (named secrets)."""

from __future__ import annotations

import argparse
from typing import Any

from switchman.cli.common import add_set, client, verb_factory
from switchman.errors import BadArgumentError


def register(sub: Any) -> None:
    group = sub.add_parser("connection", help="Manage workspace connections (named secrets).")
    leaf = verb_factory(group)
    for verb, help_text in (
        ("create", "Create or replace a connection from connection.yml."),
        ("update", "Replace a connection's target or secrets (rotation)."),
    ):
        parser = leaf(verb, cmd_create, help_text)
        parser.add_argument("-f", "--file", required=True, help="connection YAML.")
        parser.add_argument("-n", "--name", help="Name (overrides the file).")
        add_set(parser)
    show = leaf("show", cmd_show, "Show a connection (secrets masked).")
    show.add_argument("-n", "--name", required=True)
    leaf("list", cmd_list, "List connections (secrets masked).")
    delete = leaf("delete", cmd_delete, "Delete a connection no deployment references.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")


def cmd_create(args: argparse.Namespace) -> Any:
    from switchman.spec.connection import parse_connection
    from switchman.spec.loader import apply_set, parse_set, read_yaml

    data = read_yaml(args.file)[0]
    if args.name:
        data["name"] = args.name
    data = apply_set(data, parse_set(args.set_values))
    parse_connection(data, args.file)  # the file's errors here, before anything is sent
    with client() as c:
        return c.put_connection(data, args.file)


def cmd_show(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.get_connection(args.name)


def cmd_list(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.list_connections()


def cmd_delete(args: argparse.Namespace) -> Any:
    if not args.name:
        raise BadArgumentError("connection delete needs -n/--name.")
    with client() as c:
        c.delete_connection(args.name)
    return None
