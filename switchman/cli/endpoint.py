"""`switchman online-endpoint ...`: the `az ml online-endpoint` verbs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from switchman.cli.common import (
    add_no_wait,
    add_set,
    client,
    confirm,
    editable,
    parse_pairs,
    target_names,
    verb_factory,
)
from switchman.cli.rollout import register_rollout
from switchman.errors import BadArgumentError


def register(sub: Any) -> None:
    group = sub.add_parser("online-endpoint", help="Manage online endpoints.")
    leaf = verb_factory(group)

    create = leaf("create", cmd_create, "Create an endpoint.")
    create.add_argument("-f", "--file", help="endpoint YAML.")
    create.add_argument("-n", "--name", help="Endpoint name (overrides the file).")
    create.add_argument("--auth-mode", choices=["key", "aml_token", "aad_token"], help="Auth mode.")
    add_set(create)
    add_no_wait(create)
    create.add_argument("--web", action="store_true", help=argparse.SUPPRESS)

    show = leaf("show", cmd_show, "Show an endpoint.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("--web", action="store_true", help=argparse.SUPPRESS)

    leaf("list", cmd_list, "List endpoints.")

    update = leaf("update", cmd_update, "Update an endpoint (traffic, mirror traffic, tags...).")
    update.add_argument("-n", "--name", help="Endpoint name.")
    update.add_argument("-f", "--file", help="endpoint YAML.")
    update.add_argument("-r", "--traffic", help='Traffic split, e.g. "blue=90 green=10".')
    update.add_argument(
        "--mirror-traffic", help='Mirrored share, e.g. "green=10" ("green=0" stops).'
    )
    add_set(update)
    add_no_wait(update)
    update.add_argument("--web", action="store_true", help=argparse.SUPPRESS)

    delete = leaf("delete", cmd_delete, "Delete an endpoint and all its deployments.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    add_no_wait(delete)

    invoke = leaf("invoke", cmd_invoke, "Score a request file against the endpoint.")
    invoke.add_argument("-n", "--name", required=True)
    invoke.add_argument("-r", "--request-file", required=True, help="File with the request body.")
    invoke.add_argument(
        "-d", "--deployment-name", help="Send to this deployment (azureml-model-deployment)."
    )

    creds = leaf("get-credentials", cmd_credentials, "Show the keys or a token.")
    creds.add_argument("-n", "--name", required=True)

    register_rollout(leaf)  # safe rollout (switchman.cli.rollout)

    regen = leaf("regenerate-keys", cmd_regenerate, "Regenerate a key.")
    regen.add_argument("-n", "--name", required=True)
    regen.add_argument("--key-type", default="primary", choices=["primary", "secondary"])
    regen.add_argument("--key-value", help="Use this value instead of a random one.")
    add_no_wait(regen)


def cmd_create(args: argparse.Namespace) -> Any:
    from switchman.spec.endpoint import OnlineEndpointSpec
    from switchman.spec.loader import load_spec

    if not args.file and not args.name:
        raise BadArgumentError(
            "Give the endpoint YAML with -f/--file, or at least a name with -n/--name."
        )
    defaults = {"name": args.name, "auth_mode": args.auth_mode}
    spec, _ = load_spec(OnlineEndpointSpec, args.file, overrides=args.set_values, defaults=defaults)
    c = client()
    view = c.create_endpoint(spec.to_dict(), local=args.local)
    return view


def cmd_show(args: argparse.Namespace) -> Any:
    return client().get_endpoint(args.name, local=args.local)


def cmd_list(args: argparse.Namespace) -> Any:
    views = client().list_endpoints()
    return [v for v in views if (v.get("location") == "local") == bool(args.local)]


def cmd_update(args: argparse.Namespace) -> Any:
    from switchman.spec.endpoint import OnlineEndpointSpec
    from switchman.spec.loader import load_spec, validate

    name = target_names(args.file, {"name": args.name}, args.set_values)["name"]
    if not name:
        raise BadArgumentError("Name the endpoint with -n/--name (or in the file given with -f).")
    c = client()
    current = c.get_endpoint(name, local=args.local)
    spec, _ = load_spec(
        OnlineEndpointSpec,
        args.file,
        overrides=args.set_values,
        defaults={"name": name},
        base=editable(current),
    )
    doc = spec.to_dict()
    if args.traffic is not None:
        doc["traffic"] = parse_pairs(args.traffic, "--traffic")
    if args.mirror_traffic is not None:
        doc["mirror_traffic"] = {
            k: v for k, v in parse_pairs(args.mirror_traffic, "--mirror-traffic").items() if v > 0
        }
    # Re-validate the merged document so the traffic rules speak about the flags' values.
    checked = validate(OnlineEndpointSpec, doc, source="the command line")
    return c.update_endpoint(name, checked.to_dict(), local=args.local)


def cmd_delete(args: argparse.Namespace) -> Any:
    confirm(args, f"Delete endpoint {args.name!r} and all its deployments?")
    client().delete_endpoint(args.name, wait=not args.no_wait, local=args.local)
    return None


def cmd_credentials(args: argparse.Namespace) -> Any:
    return client().get_credentials(args.name, local=args.local)


def cmd_regenerate(args: argparse.Namespace) -> Any:
    client().regenerate_keys(args.name, args.key_type, args.key_value, local=args.local)
    return None


def bearer(c: Any, endpoint: dict[str, Any]) -> str | None:
    """The key or token to score ``endpoint`` (a view) with; None for local endpoints."""
    return c.bearer(endpoint)  # type: ignore[no-any-return]


def cmd_invoke(args: argparse.Namespace) -> Any:
    path = Path(args.request_file)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise BadArgumentError(f"Cannot read --request-file {path}: {exc.strerror}.") from None
    text = client().invoke(args.name, body, deployment=args.deployment_name, local=args.local)
    # `az ml online-endpoint invoke` prints the body as a JSON string.
    if args.output == "json" and not args.query:
        sys.stdout.write(json.dumps(text) + "\n")
        return 0
    return text
