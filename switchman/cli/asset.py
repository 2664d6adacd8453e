"""`switchman model ...` and `switchman environment ...`: the `az ml model|environment` verbs.

Registration goes through the control plane (``/api/models``, ``/api/environments``); a model's
files are snapshotted there, an environment's conda file or build context is read here and sent
inline, so the registered version keeps what the files said at registration.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from switchman.cli.common import add_no_wait, add_set, client, confirm
from switchman.cli.main import add_common
from switchman.environments.reference import inline
from switchman.errors import BadArgumentError
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.loader import load_spec
from switchman.spec.model import ModelSpec


def register(sub: Any) -> None:
    _register_model(sub)
    _register_environment(sub)


def _verbs(sub: Any, name: str, help_text: str) -> Any:
    group = sub.add_parser(name, help=help_text)
    return group.add_subparsers(dest="verb", metavar="VERB", parser_class=type(group))


def _leaf(verbs: Any, name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text)
    add_common(parser)
    parser.set_defaults(func=func)
    return parser


def _add_version_or_label(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("-n", "--name", required=True, help="Name.")
    parser.add_argument("-v", "--version", help="Version.")
    parser.add_argument("-l", "--label", help="Label; Switchman knows `latest`.")
    parser.set_defaults(version_required=required)


def _add_create_common(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument("-f", "--file", help=f"{kind} YAML.")
    parser.add_argument("-n", "--name", help="Name (overrides the file).")
    parser.add_argument("-v", "--version", help="Version (default: the next integer).")
    parser.add_argument("--description", help="Description.")
    parser.add_argument("--tags", nargs="*", default=None, metavar="KEY=VALUE", help="Tags.")
    parser.add_argument("--datastore", help="Upload target; recorded only.")
    parser.add_argument("--registry-name", help=argparse.SUPPRESS)
    add_set(parser)
    add_no_wait(parser)


def _register_model(sub: Any) -> None:
    verbs = _verbs(sub, "model", "Manage registered models.")
    create = _leaf(verbs, "create", cmd_model_create, "Register a model version.")
    _add_create_common(create, "model")
    create.add_argument("-p", "--path", help="Local model file or folder.")
    create.add_argument(
        "-t", "--type", choices=["custom_model", "mlflow_model", "triton_model"], help="Model type."
    )
    _add_version_or_label(_leaf(verbs, "show", cmd_model_show, "Show a model version."))
    listing = _leaf(verbs, "list", cmd_model_list, "List models (all versions of one with -n).")
    listing.add_argument("-n", "--name", help="Only this model's versions.")
    listing.add_argument("--include-archived", action="store_true", help="Include archived ones.")
    listing.add_argument("--archived-only", action="store_true", help="Only archived ones.")
    listing.add_argument("-r", "--max-results", type=int, help="At most this many.")
    archive = _leaf(verbs, "archive", cmd_model_archive, "Archive a model version.")
    _add_version_or_label(archive)
    add_no_wait(archive)


def _register_environment(sub: Any) -> None:
    verbs = _verbs(sub, "environment", "Manage registered environments.")
    create = _leaf(verbs, "create", cmd_environment_create, "Register an environment version.")
    _add_create_common(create, "environment")
    create.add_argument("-i", "--image", help="Base image; recorded only.")
    create.add_argument("-c", "--conda-file", help="Conda environment file.")
    create.add_argument("-b", "--build-context", help="Docker build context folder.")
    create.add_argument("-d", "--dockerfile-path", help="Dockerfile in the build context.")
    create.add_argument("--os-type", choices=["linux", "windows"], help="Operating system.")
    _add_version_or_label(_leaf(verbs, "show", cmd_environment_show, "Show an environment."))
    listing = _leaf(verbs, "list", cmd_environment_list, "List environments.")
    listing.add_argument("-n", "--name", help="Only this environment's versions.")
    listing.add_argument("--include-archived", action="store_true", help=argparse.SUPPRESS)
    listing.add_argument("-r", "--max-results", type=int, help="At most this many.")
    prune = _leaf(
        verbs, "prune", cmd_environment_prune, "Remove built environments no deployment uses."
    )
    prune.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")


def _tags(values: list[str] | None) -> dict[str, str] | None:
    if values is None:
        return None
    tags: dict[str, str] = {}
    for item in values:
        key, _, value = item.partition("=")
        if not key:
            raise BadArgumentError(f"--tags expects key=value items, got {item!r}.")
        tags[key] = value
    return tags


def _local(path: str | None) -> str | None:
    # Flags are relative to the current folder (paths in a YAML file: to the file's folder).
    if path is None or path.startswith(("azureml:", "azureml://", "http://", "https://", "runs:/")):
        return path
    return str(Path(path).expanduser().resolve())


def _version_path(kind: str, args: argparse.Namespace) -> str:
    name = quote(args.name, safe="")
    if args.version and args.label:
        raise BadArgumentError("Give either -v/--version or -l/--label, not both.")
    if args.version:
        return f"/api/{kind}s/{name}/versions/{quote(args.version, safe='')}"
    if args.label:
        if args.label != "latest":
            raise BadArgumentError(
                f"Unknown label {args.label!r}: the only label Switchman knows is `latest`."
            )
        return f"/api/{kind}s/{name}/latest"
    raise BadArgumentError(f"Give the {kind} version with -v/--version, or -l latest.")


def _listing(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    archived_only = bool(getattr(args, "archived_only", False))
    params: dict[str, Any] = {
        "include_archived": "true" if args.include_archived or archived_only else "false"
    }
    if args.name:
        params["name"] = args.name
    with client() as api:
        items = list(api.request("GET", f"/api/{kind}s", params=params))
    if archived_only:
        items = [i for i in items if i.get("archived")]
    return items[: args.max_results] if args.max_results else items


def cmd_model_create(args: argparse.Namespace) -> Any:
    spec, _ = load_spec(
        ModelSpec,
        args.file,
        overrides=args.set_values,
        defaults={
            "name": args.name,
            "version": args.version,
            "path": _local(args.path),
            "type": args.type,
            "description": args.description,
            "tags": _tags(args.tags),
            "datastore": args.datastore,
        },
    )
    with client() as api:
        return api.request("POST", "/api/models", json={"spec": spec.to_dict()})


def cmd_model_show(args: argparse.Namespace) -> Any:
    with client() as api:
        return api.request("GET", _version_path("model", args))


def cmd_model_list(args: argparse.Namespace) -> Any:
    return _listing("model", args)


def cmd_model_archive(args: argparse.Namespace) -> Any:
    path = _version_path("model", args)
    with client() as api:
        if not args.version:  # -l latest: archive what latest names now
            args.version = api.request("GET", path)["version"]
            path = _version_path("model", args)
        api.request("POST", path + "/archive")
    return None


def cmd_environment_create(args: argparse.Namespace) -> Any:
    build = None
    if args.build_context:
        build = {"path": _local(args.build_context)}
        if args.dockerfile_path:
            build["dockerfile_path"] = args.dockerfile_path
    spec, _ = load_spec(
        EnvironmentSpec,
        args.file,
        overrides=args.set_values,
        defaults={
            "name": args.name,
            "version": args.version,
            "image": args.image,
            "conda_file": _local(args.conda_file),
            "build": build,
            "os_type": args.os_type,
            "description": args.description,
            "tags": _tags(args.tags),
            "datastore": args.datastore,
        },
    )
    with client() as api:
        return api.request("POST", "/api/environments", json={"spec": inline(spec)})


def cmd_environment_show(args: argparse.Namespace) -> Any:
    with client() as api:
        return api.request("GET", _version_path("environment", args))


def cmd_environment_list(args: argparse.Namespace) -> Any:
    return _listing("environment", args)


def cmd_environment_prune(args: argparse.Namespace) -> Any:
    confirm(args, "Remove every built environment that no deployment uses?")
    with client() as api:
        return api.request("POST", "/api/environments/prune")
