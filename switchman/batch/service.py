"""The control plane's batch operations (transport-agnostic): endpoints, deployments, computes,
data assets, jobs. The REST routes (``switchman.controlplane.api_batch``) only parse and call."""

from __future__ import annotations

import secrets
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from switchman.batch import outputs
from switchman.batch.datastore import Datastore, list_files
from switchman.batch.policy import LIVE_WORKERS
from switchman.batch.scheduler import BatchScheduler, token_digest
from switchman.batch.scorer import MISSING_SCORER, builtin_scorer, nested_listing
from switchman.batch.store import TERMINAL, BatchStore, JobRecord
from switchman.compute.backend import Handle
from switchman.controlplane.quota import default_quota, demand
from switchman.controlplane.service import _check_syntax
from switchman.controlplane.uploads import upload
from switchman.errors import BadArgumentError, ConflictError, NotFoundError, OutOfQuotaError
from switchman.home import write_private
from switchman.spec.batch import BatchDeploymentSpec, BatchEndpointSpec, BatchSettings, compute_name
from switchman.spec.compute import AmlComputeSpec
from switchman.spec.data import DataSpec
from switchman.spec.loader import validate
from switchman.spec.sku import close_matches, find_sku

NO_DEPLOYMENT = (
    "No valid deployments to route to. Please check that the endpoint has at least one deployment "
    "with positive weight values or use a deployment specific header to route."
)
# Per-job overrides `invoke` accepts (reference §4.3) → where they sit in the settings.
OVERRIDES = {
    "mini_batch_size": ("mini_batch_size",),
    "instance_count": ("instance_count",),
    "max_concurrency_per_instance": ("max_concurrency_per_instance",),
    "max_retries": ("retry_settings", "max_retries"),
    "timeout": ("retry_settings", "timeout"),
    "error_threshold": ("error_threshold",),
    "output_file_name": ("output_file_name",),
    "output_action": ("output_action",),
    "logging_level": ("logging_level",),
    "environment_variables": ("environment_variables",),
}


def _iso(stamp: float | None) -> str | None:
    return datetime.fromtimestamp(stamp, UTC).isoformat() if stamp else None


class BatchService:
    def __init__(self, platform: Any, store: BatchStore, scheduler: BatchScheduler) -> None:
        self.platform = platform
        self.home = platform.home
        self.store = store
        self.scheduler = scheduler
        self.datastore = Datastore(self.home)

    # -- endpoints -------------------------------------------------------------------------------

    def _base(self, endpoint: str) -> str:
        # The online endpoints' addresses (scheme, public host), with /jobs instead of /score.
        base: str = self.platform.service.addresses.scoring_uri(endpoint)
        return base.removesuffix("/score")

    def endpoint_view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record["spec"])
        view.pop("$schema", None)
        view.update(
            {
                "provisioning_state": record["status"].get("provisioning_state", "Succeeded"),
                "scoring_uri": self._base(record["name"]) + "/jobs",
                "id": f"/switchman/batchEndpoints/{record['name']}",
                "location": "switchman",
                "kind": "Batch",
            }
        )
        return view

    def put_endpoint(self, raw: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
        if name is not None:
            raw = {**raw, "name": name}
        spec = validate(BatchEndpointSpec, raw, source="the request")
        default = spec.defaults.deployment_name
        if default and not self.store.find_deployment(spec.name, default):
            raise BadArgumentError(
                f"defaults.deployment_name names {default!r}, which is not a deployment of batch "
                f"endpoint {spec.name!r}; create it first or pick one of "
                f"{', '.join(d['name'] for d in self.store.list_deployments(spec.name)) or 'none'}."
            )
        if name is None and self.platform.store.find_endpoint(spec.name):
            raise ConflictError(
                f"{spec.name!r} is already an online endpoint; endpoint names are unique across "
                "online and batch endpoints. Pick another name."
            )
        self.store.put_endpoint(spec.name, spec.to_dict())
        return self.endpoint_view(self.store.get_endpoint(spec.name))

    def delete_endpoint(self, name: str) -> None:
        self.store.get_endpoint(name)
        for job in self.store.list_jobs(name):
            if job.status not in TERMINAL:
                self.store.request_cancel(job.name)
        self.store.delete_endpoint(name)

    # -- deployments -----------------------------------------------------------------------------

    def deployment_view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record["spec"])
        view.pop("$schema", None)
        view.update(
            {
                "endpoint_name": record["endpoint"],
                "provisioning_state": record["status"].get("provisioning_state", "Succeeded"),
                "id": f"/switchman/batchEndpoints/{record['endpoint']}/deployments/{record['name']}",
            }
        )
        view.setdefault("type", "model")
        return view

    def put_deployment(
        self, endpoint: str, raw: dict[str, Any], *, set_default: bool, name: str | None = None
    ) -> dict[str, Any]:
        ep = self.store.get_endpoint(endpoint)
        given = raw.get("endpoint_name")
        if given and given != endpoint:
            raise BadArgumentError(
                f"The deployment's endpoint_name is {given!r} but the command names batch endpoint "
                f"{endpoint!r}; make them agree."
            )
        if name is not None:
            raw = {**raw, "name": name}
        spec = validate(
            BatchDeploymentSpec, {**raw, "endpoint_name": endpoint}, source="the request"
        )
        resolved = self._resolve(spec)
        self.store.put_deployment(endpoint, spec.name, spec.to_dict(), resolved)
        defaults = dict(ep["spec"].get("defaults") or {})
        if set_default or (
            not defaults.get("deployment_name") and len(self.store.list_deployments(endpoint)) == 1
        ):
            # As in Azure ML, an endpoint's first deployment becomes its default.
            defaults["deployment_name"] = spec.name
            self.store.put_endpoint(endpoint, {**ep["spec"], "defaults": defaults})
        return self.deployment_view(self.store.get_deployment(endpoint, spec.name))

    def _resolve(self, spec: BatchDeploymentSpec) -> dict[str, Any]:
        compute = compute_name(spec.compute)
        if self.store.find_compute(compute) is None:
            raise NotFoundError(
                f"Compute {compute!r} (compute: {spec.compute}) does not exist. Create it with "
                f"`switchman compute create -n {compute} --type amlcompute --min-instances 0 "
                "--max-instances 2`, or check `switchman compute list`."
            )
        service = self.platform.service
        model = service._resolve_model(spec.model)
        code: dict[str, Any] | None = None
        cc = spec.code_configuration
        if cc and cc.code:
            folder = Path(cc.code)
            if not cc.scoring_script:
                raise BadArgumentError(
                    f"code_configuration.scoring_script is missing: name the scoring script inside {folder}."
                )
            if not folder.is_dir():
                raise BadArgumentError(
                    f"code_configuration.code {str(folder)!r} is not a folder. Paths are relative to "
                    "the YAML file's folder; check the path."
                )
            script = folder / cc.scoring_script
            if not script.is_file():
                raise BadArgumentError(
                    f"The scoring script {str(script)!r} does not exist (code_configuration."
                    "scoring_script is relative to code_configuration.code)."
                )
            _check_syntax(spec.name, script)
            code = {
                "asset": str(upload(folder, self.home.assets_dir, what="code folder")),
                "scoring_script": cc.scoring_script,
            }
        scorer = None
        if code is None:
            if not model or model.get("type") != "mlflow_model":
                raise BadArgumentError(
                    f"Batch deployment {spec.name!r} has no code_configuration: give "
                    "code_configuration.code and scoring_script (only MLflow models run without "
                    "a scoring script)."
                )
            scorer = builtin_scorer(model)
            if scorer is None:
                raise BadArgumentError(MISSING_SCORER.format(name=spec.name, model=model["name"]))
        from switchman.environments import resolve

        environment = resolve(spec.environment, lookup=service._lookup_environment)
        if model is not None and model.get("type") == "mlflow_model":
            # The model's own environment when the deployment has none (issue 11).
            from switchman.controlplane.mlflow_deployment import mlflow_environment
            from switchman.environments.mlflow_model import BATCH_REQUIREMENTS

            environment = mlflow_environment(
                spec.name, model, code=code, environment=environment,
                variables=spec.settings.environment_variables, extras=BATCH_REQUIREMENTS,
            )  # fmt: skip
        return {
            "model": model,
            "code": code,
            "scorer": scorer,
            "environment": environment,
            "environment_variables": dict(spec.settings.environment_variables),
        }

    def delete_deployment(self, endpoint: str, name: str) -> None:
        ep = self.store.get_endpoint(endpoint)
        self.store.get_deployment(endpoint, name)
        if (ep["spec"].get("defaults") or {}).get("deployment_name") == name and len(
            self.store.list_deployments(endpoint)
        ) > 1:
            raise ConflictError(
                f"Deployment {name!r} is the default of batch endpoint {endpoint!r}. Make another "
                f"one the default first (`switchman batch-endpoint update -n {endpoint} --set "
                "defaults.deployment_name=<other>`)."
            )
        for job in self.store.list_jobs(endpoint, name):
            if job.status not in TERMINAL:
                self.store.request_cancel(job.name)
        self.store.delete_deployment(endpoint, name)
        if (ep["spec"].get("defaults") or {}).get("deployment_name") == name:
            self.store.put_endpoint(endpoint, {**ep["spec"], "defaults": {}})

    # -- computes --------------------------------------------------------------------------------

    def compute_view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record["spec"])
        view.pop("$schema", None)
        nodes = self.store.nodes(record["name"])
        busy = [n for n in nodes if n.job]
        view.update(
            {
                "id": f"/switchman/computes/{record['name']}",
                "provisioning_state": "Succeeded",
                "state": "Running" if busy else "Steady",
                "current_node_count": len(nodes),
                "nodes": [
                    {"name": n.name, "state": "running" if n.job else "idle", "job": n.job}
                    for n in nodes
                ],
            }
        )
        return view

    def create_compute(self, raw: dict[str, Any]) -> dict[str, Any]:
        spec = validate(AmlComputeSpec, raw, source="the request")
        sku = find_sku(spec.size)
        if sku is None:
            hint = close_matches(spec.size)
            raise BadArgumentError(
                f"size {spec.size!r} is not a known VM size."
                + (f" Did you mean {', '.join(hint)}?" if hint else "")
                + " Use a size of reference §11.4, e.g. Standard_DS3_v2."
            )
        needed = spec.max_instances * sku.vcpus
        used = sum(
            demand(d.spec.get("instance_type"), int(d.spec.get("instance_count", 1)))
            for d in self.platform.store.list_deployments()
        ) + sum(
            int(c["spec"]["max_instances"]) * (find_sku(c["spec"]["size"]) or sku).vcpus
            for c in self.store.list_computes()
        )
        quota = default_quota()
        if used + needed > quota:
            raise OutOfQuotaError(
                f"Not enough quota for compute {spec.name}: {spec.max_instances} × {sku.name} needs "
                f"{needed} vCPUs, deployments and other clusters use {used}, and the quota is "
                f"{quota} vCPUs. Lower max_instances, pick a smaller size, or raise the quota with "
                "`switchman up --quota-vcpus N`.",
                details={"needed": needed, "used": used, "quota": quota},
            )
        spec.size = sku.name
        self.store.insert_compute(spec.name, spec.to_dict())
        found = self.store.find_compute(spec.name)
        assert found is not None
        return self.compute_view(found)

    def get_compute(self, name: str) -> dict[str, Any]:
        found = self.store.find_compute(name)
        if found is None:
            raise NotFoundError(
                f"Compute {name!r} does not exist. Create it with `switchman compute create -n "
                f"{name} --type amlcompute --min-instances 0 --max-instances 2`."
            )
        return found

    def delete_compute(self, name: str) -> None:
        self.get_compute(name)
        busy = [j.name for j in self.store.active_jobs() if j.spec.get("compute") == name]
        if busy:
            raise ConflictError(
                f"Compute {name!r} runs jobs {', '.join(busy)}; cancel them first "
                "(`switchman job cancel -n <job>`)."
            )
        self.store.delete_compute(name)

    # -- data assets -----------------------------------------------------------------------------

    def data_view(self, record: dict[str, Any]) -> dict[str, Any]:
        spec = dict(record["spec"])
        spec.pop("$schema", None)
        return {
            **spec,
            "name": record["name"],
            "version": record["version"],
            "id": f"azureml:/switchman/data/{record['name']}/versions/{record['version']}",
            "creation_context": {
                "created_at": _iso(float(record["created_at"])),
                "created_by": "switchman",
            },
        }

    def create_data(self, raw: dict[str, Any]) -> dict[str, Any]:
        spec = validate(DataSpec, raw, source="the request")
        if not spec.name:
            raise BadArgumentError(
                "A data asset needs a name: set `name:` in the YAML or pass --name."
            )
        if not spec.path:
            raise BadArgumentError(
                "A data asset needs a path: set `path:` in the YAML or pass --path."
            )
        store = self.platform.store
        version = spec.version or store.next_version("data", spec.name)
        if store.get_asset("data", spec.name, version) is not None:
            raise ConflictError(
                f"Data {spec.name}:{version} already exists; versions are immutable. Give a new "
                "version with --version, or leave it out to get the next one."
            )
        data = spec.to_dict()
        data["version"] = version
        if not spec.path.startswith(("azureml://", "http://", "https://")):
            local = Path(spec.path)
            _check_local(local, spec.type, f"data asset {spec.name} path")
            data["path"] = self.datastore.upload(str(local))
        elif spec.path.startswith("azureml://"):
            _check_local(
                self.datastore.resolve(spec.path), spec.type, f"data asset {spec.name} path"
            )
        return self.data_view(store.put_asset("data", spec.name, version, data))

    def get_data(self, name: str, version: str | None) -> dict[str, Any]:
        found = self.platform.store.get_asset("data", name, version)
        if found is None:
            which = f"version {version}" if version else "any version"
            raise NotFoundError(
                f"Data asset {name!r} has no {which}. Register it with `switchman data create -f "
                f"data.yml` (or --name {name} --path <folder>); list them with `switchman data list`."
            )
        return dict(found)

    # -- jobs ------------------------------------------------------------------------------------

    def _input(self, raw: dict[str, Any]) -> tuple[str, Path]:
        """(type, local path) of the job's input, uploading or downloading as needed."""
        path = str(raw.get("path") or "").strip()
        kind = str(raw.get("type") or "").lower() or None
        if not path:
            raise BadArgumentError(
                "The job needs an input: pass --input <folder|file|URL|azureml:name@latest>."
            )
        if kind not in (None, "uri_folder", "uri_file"):
            raise BadArgumentError(
                f"--input-type must be uri_folder or uri_file, got {kind!r} (mltable inputs are "
                "not supported by batch model deployments)."
            )
        if path.startswith("azureml:") and not path.startswith("azureml://"):
            ref = path[len("azureml:") :]
            if "@" in ref:
                name, _, label = ref.partition("@")
                if label != "latest":
                    raise BadArgumentError(f"Unknown label {label!r} in {path!r}: use @latest.")
                asset = self.get_data(name, None)
            else:
                name, _, version = ref.partition(":")
                asset = self.get_data(name, version or None)
            kind = kind or asset["spec"].get("type", "uri_folder")
            path = str(asset["spec"]["path"])
        if path.startswith("azureml://"):
            local = self.datastore.resolve(path)
        elif path.startswith(("http://", "https://")):
            if (kind or "uri_file") == "uri_folder":
                raise BadArgumentError(
                    f"The input {path} is a URL with --input-type uri_folder; Switchman downloads "
                    "single files from URLs. Download the folder and pass it as a local --input, or "
                    "use --input-type uri_file for one file."
                )
            kind = "uri_file"
            local = self.datastore.download(path)
        else:
            source = Path(path)
            _check_local(source, kind, "--input")
            local = self.datastore.resolve(self.datastore.upload(str(source)))
        kind = kind or ("uri_file" if local.is_file() else "uri_folder")
        _check_local(local, kind, "--input")
        return kind, local

    def invoke(self, endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
        """Start a job (reference §4.3); nothing is stored unless every check passed."""
        ep = self.store.get_endpoint(endpoint)
        deployment = request.get("deployment") or (ep["spec"].get("defaults") or {}).get(
            "deployment_name"
        )
        if not deployment:
            raise BadArgumentError(
                f"{NO_DEPLOYMENT} (Batch endpoint {endpoint!r} has no default deployment: create one "
                f"with `switchman batch-deployment create -e {endpoint} -f deployment.yml --set-default`, "
                "or pass -d/--deployment-name.)"
            )
        dep = self.store.find_deployment(endpoint, deployment)
        if dep is None:
            raise NotFoundError(
                f"Batch endpoint {endpoint!r} has no deployment {deployment!r}; deployments: "
                f"{', '.join(d['name'] for d in self.store.list_deployments(endpoint)) or 'none'}."
            )
        inputs = request.get("inputs") or {}
        if len(inputs) != 1:
            raise BadArgumentError(
                f"A model deployment takes exactly one input, got {len(inputs)}; pass one --input."
            )
        input_name, input_raw = next(iter(inputs.items()))
        kind, local = self._input(dict(input_raw))
        settings = _settings(dep["spec"], request.get("settings") or {})
        name = str(request.get("job_name") or f"batchjob-{uuid.uuid4()}")
        if self.store.find_job(name) is not None:
            raise ConflictError(f"A job named {name!r} already exists; pick another --job-name.")
        output_dir, file_name = self._output(name, request.get("outputs") or {}, settings)
        settings["output_file_name"] = file_name
        target = output_dir / file_name
        if settings["output_action"] == "append_row" and target.exists():
            raise ConflictError(
                f"The output path already holds {file_name} ({self.datastore.uri(target) if _inside(target, self.datastore.root) else target}); "
                "Azure ML refuses to overwrite it too. Pick a new --output-path or another "
                "--set output_file_name=<file>."
            )
        nested = nested_listing(dep["resolved"].get("scorer"))
        files = list_files(local, nested=nested)
        if not files:
            raise BadArgumentError(
                f"The input {input_raw.get('path')} holds no files"
                + (
                    ""
                    if nested
                    else " at its top level (MLflow deployments do not look into sub-folders)"
                )
                + "; point --input at a folder with the files to score."
            )
        size = int(settings["mini_batch_size"])
        batches = [
            [
                {"path": path, "relative": rel, "url": f"/batch-worker/jobs/{name}/files/{b}/{i}"}
                for i, (path, rel) in enumerate(files[start : start + size])
            ]
            for b, start in enumerate(range(0, len(files), size))
        ]
        compute = compute_name(dep["spec"]["compute"])
        spec = {
            "display_name": name,
            "experiment_name": request.get("experiment_name") or endpoint,
            "compute": compute,
            "inputs": {
                input_name: {"type": kind, "path": input_raw.get("path"), "resolved": str(local)}
            },
            "outputs": {
                "score": {
                    "type": "uri_folder",
                    "path": self.datastore.uri(output_dir)
                    if _inside(output_dir, self.datastore.root)
                    else str(output_dir),
                    "resolved": str(output_dir),
                }
            },
            "settings": settings,
            "resolved": dep["resolved"],
            "files": len(files),
            "mini_batches": len(batches),
        }
        token = secrets.token_urlsafe(32)
        token_file = outputs.job_dir(self.home, name) / "worker-token"
        write_private(token_file, token + "\n")
        try:
            self.store.insert_job(name, endpoint, deployment, spec, token_digest(token), batches)
        except BaseException:
            shutil.rmtree(outputs.job_dir(self.home, name), ignore_errors=True)
            raise
        self.scheduler._driver(
            name, f"job created: {len(files)} files in {len(batches)} mini-batches"
        )
        return self.job_view(self.store.get_job(name))

    def _output(self, job: str, raw: dict[str, Any], settings: dict[str, Any]) -> tuple[Path, str]:
        entry = dict(next(iter(raw.values()))) if raw else {}
        path = str(entry.get("path") or "").strip()
        file_name = str(settings["output_file_name"])
        if not path:
            return self.datastore.root / "azureml" / job / "score", file_name
        if path.startswith("azureml://"):
            folder = self.datastore.resolve(path)
        else:
            folder = Path(path).expanduser().resolve()
        if str(entry.get("type") or "").lower() == "uri_file":
            return folder.parent, folder.name
        return folder, file_name

    def job_view(self, job: JobRecord) -> dict[str, Any]:
        counts = self.store.counts(job.name)
        elapsed = ((job.ended_at or _now()) - job.started_at) if job.started_at else 0.0
        view: dict[str, Any] = {
            "name": job.name,
            "display_name": job.spec.get("display_name", job.name),
            "type": "pipeline",
            "status": job.status,
            "experiment_name": job.spec.get("experiment_name", job.endpoint),
            "endpoint_name": job.endpoint,
            "deployment_name": job.deployment,
            "compute": f"azureml:{job.spec.get('compute')}",
            "inputs": {
                k: {"type": v["type"], "path": v["path"]} for k, v in job.spec["inputs"].items()
            },
            "outputs": {
                k: {"type": v["type"], "path": v["path"], "mode": "upload"}
                for k, v in job.spec["outputs"].items()
            },
            "settings": job.spec["settings"],
            "progress": {
                "mini_batches_total": counts["total"],
                "mini_batches_completed": counts["done"],
                "mini_batches_failed": counts["failed"],
                "mini_batches_running": counts["leased"],
                "mini_batches_pending": counts["pending"],
                "items_total": counts["items"],
                "items_succeeded": counts["items_succeeded"],
                "items_failed": counts["items_failed"],
                "items_per_second": round(counts["items_succeeded"] / elapsed, 2)
                if elapsed > 0
                else 0.0,
            },
            "creation_context": {"created_at": _iso(job.created_at), "created_by": "switchman"},
            "start_time": _iso(job.started_at),
            "end_time": _iso(job.ended_at),
            "properties": {
                "azureml.batchrun": "true",
                "EndpointName": job.endpoint,
                "DeploymentName": job.deployment,
            },
            "id": f"/switchman/jobs/{job.name}",
        }
        view["workers"] = self.live_workers(job.name)
        if job.error:
            view["error"] = job.error
        return view

    def cancel(self, name: str) -> dict[str, Any]:
        job = self.store.get_job(name)
        if job.status not in TERMINAL:
            self.store.request_cancel(name)
            self.store.set_job_status(name, "CancelRequested")
            self.scheduler.step_job(name)
        return self.job_view(self.store.get_job(name))

    def files(self, name: str, everything: bool, output_name: str | None) -> dict[str, bytes]:
        """What `job download` writes: named outputs (and the logs tree with ``everything``)."""
        job = self.store.get_job(name)
        tree: dict[str, bytes] = {}
        if output_name not in (None, "score"):
            raise BadArgumentError(
                f"Job {name!r} has no output named {output_name!r}; batch jobs have one output, score."
            )
        score = Path(job.spec["outputs"]["score"]["resolved"])
        file_name = job.spec["settings"]["output_file_name"]
        if job.spec["settings"]["output_action"] == "append_row":
            target = score / file_name
            if job.status == "Completed" and target.is_file():
                tree[f"named-outputs/score/{file_name}"] = target.read_bytes()
            elif output_name == "score" and not everything:
                raise BadArgumentError(
                    f"Job {name!r} is {job.status}; its output {file_name} exists once the job is "
                    f"Completed (follow it with `switchman job stream -n {name}`)."
                )
        elif score.is_dir():
            for path in sorted(score.rglob("*")):
                if path.is_file():
                    tree[f"named-outputs/score/{path.relative_to(score)}"] = path.read_bytes()
        if everything:
            records = self.store.workers(name)
            workers = [(w.node, w.slot, w.handle) for w in records if w.handle]
            where = {w.id: f"{w.node}/process{w.slot}" for w in records}
            tree.update(
                outputs.log_tree(
                    self.home,
                    name,
                    self.job_view(job),
                    workers,
                    self.platform.backend.read_log,
                    self.store.tries(name),
                    where,
                )
            )
        return tree

    def live_workers(self, name: str) -> list[dict[str, Any]]:
        return [
            {
                "id": w.id,
                "node": w.node,
                "process": w.slot,
                "state": w.state,
                "pid": Handle.from_json(w.handle).pid if w.handle else None,
            }
            for w in self.store.workers(name)
            if w.state in LIVE_WORKERS
        ]


def _now() -> float:
    import time

    return time.time()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _check_local(path: Path, kind: str | None, what: str) -> None:
    if not path.exists():
        raise BadArgumentError(
            f"The {what} {str(path)!r} does not exist. Check the path (paths in a YAML file are "
            "relative to the file's folder)."
        )
    if kind == "uri_file" and not path.is_file():
        raise BadArgumentError(
            f"The {what} {str(path)!r} is a folder but its type is uri_file; use uri_folder."
        )
    if kind == "uri_folder" and not path.is_dir():
        raise BadArgumentError(
            f"The {what} {str(path)!r} is a file but its type is uri_folder; use uri_file."
        )


def _settings(deployment: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The deployment's settings with the job's overrides, validated by the same model."""
    base = dict(deployment.get("settings") or {})
    base["retry_settings"] = dict(base.get("retry_settings") or {})
    for key, value in overrides.items():
        where = OVERRIDES.get(key)
        if where is None:
            raise BadArgumentError(
                f"Unknown job setting {key!r}; a job can override {', '.join(sorted(OVERRIDES))}."
            )
        if value is None:
            continue
        if len(where) == 2:
            base[where[0]][where[1]] = value
        elif key == "environment_variables":
            base[key] = {**base.get(key, {}), **dict(value)}
        else:
            base[key] = value
    instance_count = base.pop("instance_count", None) or (deployment.get("resources") or {}).get(
        "instance_count", 1
    )
    try:
        checked = BatchSettings.model_validate({**base, "instance_count": instance_count})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise BadArgumentError(f"Invalid job settings: {problems}.") from None
    flat = checked.model_dump(mode="json")
    retry = flat.pop("retry_settings")
    flat["max_retries"], flat["timeout"] = retry["max_retries"], retry["timeout"]
    flat["instance_count"] = checked.instance_count or 1
    return flat
