"""`switchman batch-endpoint ...` and `switchman batch-deployment ...` (reference §5.3, §5.4)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from switchman.cli.common import (
    add_no_wait,
    add_set,
    client,
    confirm,
    editable,
    target_names,
    verb_factory,
)
from switchman.errors import BadArgumentError


def register(sub: Any) -> None:
    _register_endpoint(sub)
    _register_deployment(sub)


def _q(name: str) -> str:
    return quote(name, safe="")


def _register_endpoint(sub: Any) -> None:
    group = sub.add_parser("batch-endpoint", help="Manage batch endpoints and start jobs.")
    leaf = verb_factory(group)
    create = leaf("create", cmd_endpoint_create, "Create (or overwrite) a batch endpoint.")
    create.add_argument("-f", "--file", help="batch endpoint YAML.")
    create.add_argument("-n", "--name", help="Endpoint name (overrides the file).")
    add_set(create)
    add_no_wait(create)
    update = leaf("update", cmd_endpoint_update, "Update a batch endpoint (defaults, tags...).")
    update.add_argument("-n", "--name", help="Endpoint name.")
    update.add_argument("-f", "--file", help="batch endpoint YAML.")
    update.add_argument("--defaults", help="deployment_name=<deployment>.")
    add_set(update)
    add_no_wait(update)
    show = leaf("show", cmd_endpoint_show, "Show a batch endpoint.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    leaf("list", cmd_endpoint_list, "List batch endpoints.")
    delete = leaf("delete", cmd_endpoint_delete, "Delete a batch endpoint and its deployments.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    add_no_wait(delete)
    jobs = leaf("list-jobs", cmd_endpoint_jobs, "List the jobs of a batch endpoint.")
    jobs.add_argument("-n", "--name", required=True)

    invoke = leaf("invoke", cmd_invoke, "Start a batch job; prints the job.")
    invoke.add_argument("-n", "--name", required=True, help="Batch endpoint.")
    invoke.add_argument("-d", "--deployment-name", help="Deployment (default: the endpoint's).")
    invoke.add_argument(
        "--input", help="Folder, file, URL, azureml:NAME@latest or azureml:NAME:VER."
    )
    invoke.add_argument("--input-type", choices=["uri_folder", "uri_file"], help="Input type.")
    invoke.add_argument("--file", dest="inputs_file", help="inputs.yml with inputs:/outputs: maps.")
    invoke.add_argument("--output-path", help="azureml://datastores/<ds>/paths/<p> for the output.")
    invoke.add_argument("-m", "--mini-batch-size", type=int, help="Files per run() call.")
    invoke.add_argument("-c", "--instance-count", type=int, help="Nodes for this job.")
    invoke.add_argument("--job-name", help="Name of the job.")
    invoke.add_argument("--experiment-name", help="Experiment name (default: the endpoint).")
    invoke.add_argument("--input-data", dest="input_legacy", help=argparse.SUPPRESS)
    invoke.add_argument("--input-path", dest="input_path_legacy", help=argparse.SUPPRESS)
    add_set(invoke)
    add_no_wait(invoke)


def _register_deployment(sub: Any) -> None:
    group = sub.add_parser("batch-deployment", help="Manage batch deployments.")
    leaf = verb_factory(group)
    create = leaf("create", cmd_deployment_create, "Create (or overwrite) a batch deployment.")
    create.add_argument("-f", "--file", required=True, help="batch deployment YAML.")
    create.add_argument("-n", "--name", help="Deployment name (overrides the file).")
    create.add_argument("-e", "--endpoint-name", help="Endpoint (overrides the file).")
    create.add_argument(
        "--set-default", action="store_true", help="Make it the endpoint's default deployment."
    )
    create.add_argument("--skip-script-validation", action="store_true", help=argparse.SUPPRESS)
    add_set(create)
    add_no_wait(create)
    update = leaf("update", cmd_deployment_update, "Update a batch deployment.")
    update.add_argument("-f", "--file", help="batch deployment YAML.")
    update.add_argument("-n", "--name", help="Deployment name.")
    update.add_argument("-e", "--endpoint-name", help="Endpoint.")
    add_set(update)
    add_no_wait(update)
    show = leaf("show", cmd_deployment_show, "Show a batch deployment.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("-e", "--endpoint-name", required=True)
    lst = leaf("list", cmd_deployment_list, "List the deployments of a batch endpoint.")
    lst.add_argument("-e", "--endpoint-name", required=True)
    delete = leaf("delete", cmd_deployment_delete, "Delete a batch deployment.")
    delete.add_argument("-n", "--name", required=True)
    delete.add_argument("-e", "--endpoint-name", required=True)
    delete.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    add_no_wait(delete)
    jobs = leaf("list-jobs", cmd_deployment_jobs, "List the jobs of a batch deployment.")
    jobs.add_argument("-n", "--name", required=True)
    jobs.add_argument("-e", "--endpoint-name", required=True)


# -- endpoints -----------------------------------------------------------------------------------


def cmd_endpoint_create(args: argparse.Namespace) -> Any:
    from switchman.spec.batch import BatchEndpointSpec
    from switchman.spec.loader import load_spec

    if not args.file and not args.name:
        raise BadArgumentError("Give the batch endpoint YAML with -f/--file, or a name with -n.")
    spec, _ = load_spec(
        BatchEndpointSpec, args.file, overrides=args.set_values, defaults={"name": args.name}
    )
    with client() as c:
        return c.batch("POST", "/batch-endpoints", {"spec": spec.to_dict()})


def cmd_endpoint_update(args: argparse.Namespace) -> Any:
    from switchman.spec.batch import BatchEndpointSpec
    from switchman.spec.loader import load_spec

    name = target_names(args.file, {"name": args.name}, args.set_values)["name"]
    if not name:
        raise BadArgumentError("Name the batch endpoint with -n/--name (or in the -f file).")
    overrides = list(args.set_values)
    if args.defaults:
        key, _, value = args.defaults.partition("=")
        if key.strip() != "deployment_name" or not value:
            raise BadArgumentError("--defaults expects deployment_name=<deployment>.")
        overrides.append(f"defaults.deployment_name={value.strip()}")
    with client() as c:
        current = c.batch("GET", f"/batch-endpoints/{_q(name)}")
        base = {k: v for k, v in editable(current).items() if k not in ("scoring_uri",)}
        spec, _ = load_spec(
            BatchEndpointSpec, args.file, overrides=overrides, defaults={"name": name}, base=base
        )
        return c.batch("PUT", f"/batch-endpoints/{_q(name)}", {"spec": spec.to_dict()})


def cmd_endpoint_show(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", f"/batch-endpoints/{_q(args.name)}")


def cmd_endpoint_list(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", "/batch-endpoints")


def cmd_endpoint_delete(args: argparse.Namespace) -> Any:
    confirm(args, f"Delete batch endpoint {args.name!r} and all its deployments?")
    with client() as c:
        c.batch("DELETE", f"/batch-endpoints/{_q(args.name)}")
    return None


def cmd_endpoint_jobs(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", f"/batch-endpoints/{_q(args.name)}/jobs")


def _local(path: str) -> str:
    if path.startswith(("azureml:", "http://", "https://")):
        return path
    return str(Path(path).expanduser().resolve())


def invoke_request(args: argparse.Namespace) -> dict[str, Any]:
    """The invoke flags (and --file inputs.yml, --set) as the API's invoke body."""
    from switchman.spec.loader import apply_set, parse_set, read_yaml

    doc: dict[str, Any] = {"inputs": {}, "outputs": {}}
    if args.inputs_file:
        data, _ = read_yaml(args.inputs_file)
        unknown = sorted(set(data) - {"inputs", "outputs"})
        if unknown:
            raise BadArgumentError(
                f"unknown key {unknown[0]!r} in {args.inputs_file}; an inputs file holds inputs: "
                "and outputs: maps."
            )
        folder = Path(args.inputs_file).resolve().parent
        for section in ("inputs", "outputs"):
            for name, entry in (data.get(section) or {}).items():
                if not isinstance(entry, dict):
                    raise BadArgumentError(
                        f"{section}.{name} in {args.inputs_file} must be a mapping with type: and path:."
                    )
                entry = dict(entry)
                if entry.get("path") and not str(entry["path"]).startswith(("azureml:", "http")):
                    entry["path"] = str((folder / str(entry["path"])).resolve())
                doc[section][str(name)] = entry
    given = args.input or args.input_legacy or args.input_path_legacy
    if given:
        doc["inputs"] = {"input_data": {"type": args.input_type, "path": _local(given)}}
    elif args.input_type and doc["inputs"]:
        next(iter(doc["inputs"].values()))["type"] = args.input_type
    if args.output_path:
        doc["outputs"] = {"score": {"type": "uri_folder", "path": _local(args.output_path)}}
    settings: dict[str, Any] = {}
    sets = apply_set({}, parse_set(args.set_values))
    for section in ("inputs", "outputs"):
        for name, entry in (sets.pop(section, None) or {}).items():
            merged = {**doc[section].get(name, {}), **entry}
            if merged.get("path") and not str(merged["path"]).startswith(("azureml:", "http")):
                merged["path"] = _local(str(merged["path"]))
            doc[section][name] = merged
    settings.update(sets.pop("settings", {}) or {})
    settings.update(sets)
    if args.mini_batch_size is not None:
        settings["mini_batch_size"] = args.mini_batch_size
    if args.instance_count is not None:
        settings["instance_count"] = args.instance_count
    if not doc["inputs"]:
        raise BadArgumentError(
            "Give the job's input with --input <folder|file|URL|azureml:NAME@latest> "
            "(or --file inputs.yml)."
        )
    return {
        "deployment": args.deployment_name,
        "inputs": doc["inputs"],
        "outputs": doc["outputs"],
        "job_name": args.job_name,
        "experiment_name": args.experiment_name,
        "settings": settings,
    }


def cmd_invoke(args: argparse.Namespace) -> Any:
    body = invoke_request(args)
    with client() as c:
        return c.invoke_batch(args.name, body)


# -- deployments ---------------------------------------------------------------------------------


def _load_deployment(args: argparse.Namespace, base: dict[str, Any] | None = None) -> Any:
    from switchman.spec.batch import BatchDeploymentSpec, resolve_batch_paths
    from switchman.spec.loader import load_spec, read_yaml

    data = read_yaml(args.file)[0] if args.file else {}
    endpoint = args.endpoint_name or data.get("endpoint_name") or (base or {}).get("endpoint_name")
    if not endpoint:
        raise BadArgumentError("Name the batch endpoint with -e/--endpoint-name or endpoint_name:.")
    defaults = {"endpoint_name": endpoint, "name": args.name}
    spec, folder = load_spec(
        BatchDeploymentSpec, args.file, overrides=args.set_values, defaults=defaults, base=base
    )
    # --set endpoint_name=X (applied last, as to every spec) picks the endpoint the request targets.
    return str(spec.endpoint_name or endpoint), resolve_batch_paths(spec, folder)


def cmd_deployment_create(args: argparse.Namespace) -> Any:
    endpoint, spec = _load_deployment(args)
    with client() as c:
        return c.batch(
            "POST",
            f"/batch-endpoints/{_q(endpoint)}/deployments",
            {"spec": spec.to_dict(), "set_default": bool(args.set_default)},
        )


def cmd_deployment_update(args: argparse.Namespace) -> Any:
    found = target_names(
        args.file, {"name": args.name, "endpoint_name": args.endpoint_name}, args.set_values
    )
    name, endpoint = found["name"], found["endpoint_name"]
    if not name or not endpoint:
        raise BadArgumentError("Name the deployment with -n and its endpoint with -e.")
    with client() as c:
        current = c.batch("GET", f"/batch-endpoints/{_q(endpoint)}/deployments/{_q(name)}")
        args.name, args.endpoint_name = name, endpoint
        _, spec = _load_deployment(args, base=editable(current))
        return c.batch(
            "PUT",
            f"/batch-endpoints/{_q(endpoint)}/deployments/{_q(name)}",
            {"spec": spec.to_dict()},
        )


def cmd_deployment_show(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch(
            "GET", f"/batch-endpoints/{_q(args.endpoint_name)}/deployments/{_q(args.name)}"
        )


def cmd_deployment_list(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("GET", f"/batch-endpoints/{_q(args.endpoint_name)}/deployments")


def cmd_deployment_delete(args: argparse.Namespace) -> Any:
    confirm(args, f"Delete batch deployment {args.name!r}?")
    with client() as c:
        c.batch("DELETE", f"/batch-endpoints/{_q(args.endpoint_name)}/deployments/{_q(args.name)}")
    return None


def cmd_deployment_jobs(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch(
            "GET", f"/batch-endpoints/{_q(args.endpoint_name)}/deployments/{_q(args.name)}/jobs"
        )
