"""`switchman online-deployment ...`: the `az ml online-deployment` verbs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from switchman.cli.common import (
    add_no_wait,
    add_set,
    client,
    confirm,
    editable,
    progress,
    target_names,
    verb_factory,
)
from switchman.cli.rollout import register_replay
from switchman.errors import BadArgumentError


def register(sub: Any) -> None:
    group = sub.add_parser("online-deployment", help="Manage online deployments.")
    leaf = verb_factory(group)

    create = leaf("create", cmd_create, "Create a deployment and wait until it is ready.")
    create.add_argument("-f", "--file", help="deployment YAML.")
    create.add_argument("-n", "--name", help="Deployment name (overrides the file).")
    create.add_argument("-e", "--endpoint-name", help="Endpoint (overrides the file).")
    create.add_argument(
        "--all-traffic", action="store_true", help="Send 100%% of traffic here once ready."
    )
    create.add_argument("--skip-script-validation", action="store_true", help=argparse.SUPPRESS)
    create.add_argument("--vscode-debug", action="store_true", help=argparse.SUPPRESS)
    create.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    add_set(create)
    add_no_wait(create)

    update = leaf("update", cmd_update, "Update a deployment (rolling) and wait until it is ready.")
    update.add_argument("-f", "--file", help="deployment YAML.")
    update.add_argument("-n", "--name", help="Deployment name.")
    update.add_argument("-e", "--endpoint-name", help="Endpoint.")
    update.add_argument("--vscode-debug", action="store_true", help=argparse.SUPPRESS)
    update.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    add_set(update)
    add_no_wait(update)

    show = leaf("show", cmd_show, "Show a deployment and its instances.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("-e", "--endpoint-name", required=True)
    show.add_argument("--web", action="store_true", help=argparse.SUPPRESS)

    lst = leaf("list", cmd_list, "List the deployments of an endpoint.")
    lst.add_argument("-e", "--endpoint-name", required=True)

    delete = leaf("delete", cmd_delete, "Delete a deployment.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-e", "--endpoint-name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    add_no_wait(delete)

    register_replay(leaf)  # record & replay (switchman.cli.rollout)

    logs = leaf("get-logs", cmd_logs, "Show an instance's container log.")
    logs.add_argument("-n", "--name", required=True)
    logs.add_argument("-e", "--endpoint-name", required=True)
    logs.add_argument(
        "-l", "--lines", type=int, default=5000, help="Lines from the end (default 5000)."
    )
    logs.add_argument(
        "-c",
        "--container",
        default="inference-server",
        choices=["inference-server", "storage-initializer"],
        help="Which container's log.",
    )


def _names(args: argparse.Namespace) -> tuple[str, str | None]:
    found = target_names(
        args.file, {"endpoint_name": args.endpoint_name, "name": args.name}, args.set_values
    )
    endpoint, name = found["endpoint_name"], found["name"]
    if not endpoint:
        raise BadArgumentError(
            "Name the endpoint with -e/--endpoint-name or endpoint_name: in the file."
        )
    return endpoint, name


def _wait(c: Any, endpoint: str, name: str, verb: str, *, local: bool = False) -> dict[str, Any]:
    with progress(f"{verb} deployment {name}...") as update:

        def show(view: dict[str, Any]) -> None:
            ready = sum(1 for i in view.get("instances", []) if i.get("state") == "Ready")
            update(
                f"{view.get('provisioning_state')} ({ready}/{view.get('instance_count', '?')} instances ready)"
            )

        return dict(c.wait_deployment(endpoint, name, on_poll=show, local=local))


def cmd_create(args: argparse.Namespace) -> Any:
    from switchman.spec.deployment import OnlineDeploymentSpec
    from switchman.spec.loader import load_spec

    if args.all_traffic and args.no_wait:
        raise BadArgumentError(
            "--all-traffic waits for the deployment; it cannot be combined with --no-wait."
        )
    if not args.file:
        raise BadArgumentError("Give the deployment YAML with -f/--file.")
    endpoint, name = _names(args)
    spec, _ = load_spec(
        OnlineDeploymentSpec,
        args.file,
        overrides=args.set_values,
        defaults={"name": name, "endpoint_name": endpoint},
    )
    c = client()
    view = c.create_deployment(endpoint, spec.to_dict(), wait=False, local=args.local)
    if args.no_wait:
        return view
    view = _wait(c, endpoint, spec.name, "Creating", local=args.local)
    if args.all_traffic:
        current = c.get_endpoint(endpoint, local=args.local)
        doc = editable(current)
        doc["traffic"] = {
            spec.name: 100,
            **{k: 0 for k in current.get("traffic", {}) if k != spec.name},
        }
        doc["mirror_traffic"] = {
            k: v for k, v in current.get("mirror_traffic", {}).items() if k != spec.name
        }
        c.update_endpoint(endpoint, doc, local=args.local)
        view = c.get_deployment(endpoint, spec.name, local=args.local)
    return view


def cmd_update(args: argparse.Namespace) -> Any:
    from switchman.spec.deployment import OnlineDeploymentSpec
    from switchman.spec.loader import load_spec

    endpoint, name = _names(args)
    if not name:
        raise BadArgumentError("Name the deployment with -n/--name or name: in the file.")
    c = client()
    current = c.get_deployment(endpoint, name, local=args.local)
    spec, _ = load_spec(
        OnlineDeploymentSpec,
        args.file,
        overrides=args.set_values,
        defaults={"name": name, "endpoint_name": endpoint},
        base=editable(current),
    )
    c.update_deployment(endpoint, name, spec.to_dict(), wait=False, local=args.local)
    if args.no_wait:
        return c.get_deployment(endpoint, name, local=args.local)
    return _wait(c, endpoint, name, "Updating", local=args.local)


def cmd_show(args: argparse.Namespace) -> Any:
    return client().get_deployment(args.endpoint_name, args.name, local=args.local)


def cmd_list(args: argparse.Namespace) -> Any:
    return client().list_deployments(args.endpoint_name, local=args.local)


def cmd_delete(args: argparse.Namespace) -> Any:
    confirm(args, f"Delete deployment {args.name!r} of endpoint {args.endpoint_name!r}?")
    client().delete_deployment(
        args.endpoint_name, args.name, wait=not args.no_wait, local=args.local
    )
    return None


def cmd_logs(args: argparse.Namespace) -> Any:
    result = client().get_logs(
        args.endpoint_name, args.name, args.container, args.lines, local=args.local
    )
    text = str(result.get("text", ""))
    if args.output == "json" and not args.query:
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return 0
    return result
