"""``ml_client.batch_endpoints``, ``batch_deployments``, ``jobs``, ``data`` and ``compute``:
azure-ai-ml's batch operations over the platform's batch API (issue #10)."""

from __future__ import annotations

import builtins
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from switchman.errors import NotFoundError, SwitchmanError
from switchman.ml.entities.asset import Data
from switchman.ml.entities.batch import BatchDeployment, BatchEndpoint, BatchJob, Job
from switchman.ml.entities.compute import AmlCompute
from switchman.ml.exceptions import ValidationException, from_switchman, translated
from switchman.ml.input import Input, Output
from switchman.ml.operations._base import Operations, editable, find
from switchman.ml.operations.model import version_of
from switchman.ml.poller import LROPoller, Poll, running, succeeded
from switchman.spec.loader import absolute, resolve_paths

JOB_DONE = ("Completed", "Failed", "Canceled", "NotResponding")
_REMOTE = ("azureml:", "azureml://", "http://", "https://")


def _q(text: str) -> str:
    return quote(text, safe="")


_DATA_ID = re.compile(r"^azureml:/+switchman/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$")


def _local_path(path: str) -> str:
    found = _DATA_ID.match(path)
    if found:  # a data asset's `id` (Input(path=data.id)) names that registered version
        return f"azureml:{found['name']}:{found['version']}"
    return path if path.startswith(_REMOTE) else str(Path(path).expanduser().resolve())


def _gone(api_get: Any) -> Poll[None]:
    try:
        api_get()
    except NotFoundError:
        return succeeded(None)
    except SwitchmanError as exc:
        raise from_switchman(exc) from None
    return running()


class BatchEndpointOperations(Operations):
    """Batch endpoints: create, look up, delete, and start scoring jobs (``invoke``)."""

    def begin_create_or_update(
        self, endpoint: BatchEndpoint, **kwargs: Any
    ) -> LROPoller[BatchEndpoint]:
        """Create the endpoint, or update it (e.g. ``defaults.deployment_name``).

        CLI: ``switchman batch-endpoint create -n NAME`` / ``update -n NAME --set defaults...``.
        """
        if not isinstance(endpoint, BatchEndpoint):
            raise ValidationException(
                f"begin_create_or_update expects a BatchEndpoint, got {type(endpoint).__name__}."
            )
        api = self._api
        path = f"/api/batch-endpoints/{_q(endpoint.name)}"
        current = find(lambda: dict(api.request("GET", path)))
        with translated():
            if current is None:
                view = api.request("POST", "/api/batch-endpoints", {"spec": endpoint._to_rest()})
            else:
                doc = {**editable(current), **endpoint._to_rest()}
                view = api.request("PUT", path, {"spec": doc})
        return LROPoller.finished(BatchEndpoint._from_rest(dict(view)))

    def get(self, name: str) -> BatchEndpoint:
        """The endpoint. CLI: ``switchman batch-endpoint show -n NAME``."""
        with translated():
            return BatchEndpoint._from_rest(
                self._api.request("GET", f"/api/batch-endpoints/{_q(name)}")
            )

    def list(self) -> builtins.list[BatchEndpoint]:
        """Every batch endpoint. CLI: ``switchman batch-endpoint list``."""
        with translated():
            return [
                BatchEndpoint._from_rest(v)
                for v in self._api.request("GET", "/api/batch-endpoints")
            ]

    def begin_delete(self, name: str) -> LROPoller[None]:
        """Delete the endpoint and its deployments. CLI: ``switchman batch-endpoint delete -n NAME``."""
        path = f"/api/batch-endpoints/{_q(name)}"
        with translated():
            self._api.request("DELETE", path)
        return LROPoller(lambda: _gone(lambda: self._api.request("GET", path)), timeout=300.0)

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: dict[str, Input] | None = None,
        input: Input | None = None,
        outputs: dict[str, Output] | None = None,
        output_path: Any = None,
        output_file_name: str | None = None,
        job_name: str | None = None,
        experiment_name: str | None = None,
        params_override: builtins.list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> BatchJob:
        """Start a scoring job; returns it at once (``ml_client.jobs.stream(job.name)`` waits).

        CLI: ``switchman batch-endpoint invoke -n NAME --input data/ [--deployment-name D]``.
        """
        given = dict(inputs or {})
        if input is not None:
            given = {"input_data": input}
        if not given:
            raise ValidationException(
                "invoke needs the job's input: input=Input(path=..., type=AssetTypes.URI_FOLDER) "
                "or inputs={'input_data': Input(...)}."
            )
        body_inputs: dict[str, dict[str, Any]] = {}
        for key, value in given.items():
            if not isinstance(value, Input) or not value.path:
                raise ValidationException(f"inputs[{key!r}] must be an Input with a path.")
            body_inputs[key] = {"type": value.type, "path": _local_path(value.path)}
        body_outputs: dict[str, dict[str, Any]] = {}
        for key, out in (outputs or {}).items():
            if out.path:
                body_outputs[key] = {"type": out.type, "path": _local_path(out.path)}
        if output_path is not None:
            target = output_path.get("score") if isinstance(output_path, dict) else output_path
            path = getattr(target, "path", target)
            if path:
                body_outputs["score"] = {"type": "uri_folder", "path": _local_path(str(path))}
        settings: dict[str, Any] = {}
        if output_file_name:
            settings["output_file_name"] = output_file_name
        for override in params_override or []:
            settings.update(override)
        for key in ("mini_batch_size", "instance_count", "error_threshold"):
            if kwargs.get(key) is not None:
                settings[key] = kwargs[key]
        body = {
            "deployment": deployment_name,
            "inputs": body_inputs,
            "outputs": body_outputs,
            "job_name": job_name,
            "experiment_name": experiment_name,
            "settings": settings,
        }
        with translated():
            view = self._api.request("POST", f"/api/batch-endpoints/{_q(endpoint_name)}/jobs", body)
        return BatchJob._from_rest(dict(view))

    def list_jobs(self, endpoint_name: str) -> builtins.list[BatchJob]:
        """The endpoint's jobs. CLI: ``switchman batch-endpoint list-jobs -n NAME``."""
        with translated():
            views = self._api.request("GET", f"/api/batch-endpoints/{_q(endpoint_name)}/jobs")
        return [BatchJob._from_rest(v) for v in views]


def _resolve_batch(deployment: BatchDeployment) -> BatchDeployment:
    """A copy with the code, model and environment paths absolute (from the current folder)."""
    copy = deployment.model_copy(deep=True)
    if copy.code_configuration and copy.code_configuration.code:
        copy.code_configuration.code = absolute(copy.code_configuration.code, Path.cwd())
    for part in (copy.model, copy.environment):
        if isinstance(part, BaseModel):
            resolve_paths(part, Path.cwd())
    return copy


class BatchDeploymentOperations(Operations):
    """The deployments of batch endpoints."""

    def begin_create_or_update(
        self, deployment: BatchDeployment, *, set_default: bool = False, **kwargs: Any
    ) -> LROPoller[BatchDeployment]:
        """Create the deployment, or update it when it exists.

        CLI: ``switchman batch-deployment create -f deployment.yml [--set-default]``.
        """
        if not isinstance(deployment, BatchDeployment):
            raise ValidationException(
                f"begin_create_or_update expects a BatchDeployment, got {type(deployment).__name__}."
            )
        endpoint = deployment.endpoint_name
        if not endpoint:
            raise ValidationException(
                f"Batch deployment {deployment.name!r} has no endpoint_name: set endpoint_name=..."
            )
        api = self._api
        base = f"/api/batch-endpoints/{_q(endpoint)}/deployments"
        path = f"{base}/{_q(deployment.name)}"
        doc = _resolve_batch(deployment)._to_rest()
        current = find(lambda: dict(api.request("GET", path)))
        with translated():
            if current is None:
                view = api.request("POST", base, {"spec": doc, "set_default": set_default})
            else:
                merged = {**editable(current), **doc}
                view = api.request("PUT", path, {"spec": merged, "set_default": set_default})
        return LROPoller.finished(BatchDeployment._from_rest(dict(view)))

    def get(self, name: str, endpoint_name: str) -> BatchDeployment:
        """The deployment. CLI: ``switchman batch-deployment show -n NAME -e ENDPOINT``."""
        path = f"/api/batch-endpoints/{_q(endpoint_name)}/deployments/{_q(name)}"
        with translated():
            return BatchDeployment._from_rest(self._api.request("GET", path))

    def list(self, endpoint_name: str) -> builtins.list[BatchDeployment]:
        """The endpoint's deployments. CLI: ``switchman batch-deployment list -e ENDPOINT``."""
        with translated():
            views = self._api.request(
                "GET", f"/api/batch-endpoints/{_q(endpoint_name)}/deployments"
            )
        return [BatchDeployment._from_rest(v) for v in views]

    def begin_delete(self, name: str, endpoint_name: str) -> LROPoller[None]:
        """Delete the deployment. CLI: ``switchman batch-deployment delete -n NAME -e ENDPOINT``."""
        path = f"/api/batch-endpoints/{_q(endpoint_name)}/deployments/{_q(name)}"
        with translated():
            self._api.request("DELETE", path)
        return LROPoller(lambda: _gone(lambda: self._api.request("GET", path)), timeout=300.0)

    def list_jobs(self, endpoint_name: str, *, name: str | None = None) -> builtins.list[BatchJob]:
        """The jobs of the endpoint (of deployment ``name``). CLI: ``batch-deployment list-jobs``."""
        path = f"/api/batch-endpoints/{_q(endpoint_name)}/jobs"
        if name:
            path = f"/api/batch-endpoints/{_q(endpoint_name)}/deployments/{_q(name)}/jobs"
        with translated():
            return [BatchJob._from_rest(v) for v in self._api.request("GET", path)]


class JobOperations(Operations):
    """Jobs: look up, follow, download outputs, cancel."""

    def get(self, name: str) -> Job:
        """The job. CLI: ``switchman job show -n NAME``.

        Raises:
            ResourceNotFoundError: no such job.
        """
        with translated():
            return BatchJob._from_rest(self._api.request("GET", f"/api/jobs/{_q(name)}"))

    def list(self, *, parent_job_name: str | None = None, **kwargs: Any) -> builtins.list[Job]:
        """Every job (``parent_job_name``: the scoring job of that batch job, which is the job
        itself here). CLI: ``switchman job list``."""
        if parent_job_name:
            return [self.get(parent_job_name)]
        with translated():
            return [BatchJob._from_rest(v) for v in self._api.request("GET", "/api/jobs")]

    def stream(self, name: str, *, timeout: float = 3600.0, poll_interval: float = 0.2) -> None:
        """Wait for the job to end, printing each status change (azure-ai-ml prints its log).

        CLI: ``switchman job stream -n NAME``.
        """
        deadline = time.monotonic() + timeout
        last: str | None = None
        print(f"RunId: {name}")
        while True:
            job = self.get(name)
            if job.status != last:
                print(f"Status: {job.status}")
                last = job.status
            if job.status in JOB_DONE:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {name!r} is still {job.status} after {timeout:.0f}s.")
            time.sleep(poll_interval)

    def download(
        self,
        name: str,
        *,
        download_path: str | Path = ".",
        output_name: str | None = None,
        all: bool = False,
    ) -> None:
        """Write the job's outputs (``output_name="score"``: ``named-outputs/score/<file>``;
        ``all=True``: every output and the logs) under ``download_path``.

        CLI: ``switchman job download -n NAME --output-name score --download-path D``.
        """
        params: dict[str, Any] = {"all": "true" if all else "false"}
        if output_name:
            params["output_name"] = output_name
        with translated():
            tree = self._api.request("GET", f"/api/jobs/{_q(name)}/files", params=params)
        root = Path(download_path)
        for relative, text in dict(tree.get("files", {})).items():
            target = (root / relative).resolve()
            if not target.is_relative_to(root.resolve()):
                continue  # never write outside download_path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(str(text))

    def begin_cancel(self, name: str) -> LROPoller[None]:
        """Cancel the job; the poller ends when it has stopped. CLI: ``switchman job cancel -n NAME``."""
        with translated():
            self._api.request("POST", f"/api/jobs/{_q(name)}/cancel")

        def observe() -> Poll[None]:
            return succeeded(None) if self.get(name).status in JOB_DONE else running()

        return LROPoller(observe, timeout=300.0)


class DataOperations(Operations):
    """Data assets (uri_folder, uri_file) used as batch inputs."""

    def create_or_update(self, data: Data, **kwargs: Any) -> Data:
        """Register a version. CLI: ``switchman data create -n NAME --path data/ --type uri_folder``."""
        copy = data.model_copy(deep=True)
        if copy.path:
            copy.path = _local_path(copy.path)
        with translated():
            view = self._api.request("POST", "/api/data", {"spec": copy._to_dict()})
        return Data._from_rest(dict(view))

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Data:
        """One version (``label="latest"``: the newest). CLI: ``switchman data show -n NAME -v V``."""
        wanted = version_of(version, label)
        path = (
            f"/api/data/{_q(name)}/latest"
            if wanted is None
            else f"/api/data/{_q(name)}/versions/{_q(wanted)}"
        )
        with translated():
            return Data._from_rest(self._api.request("GET", path))

    def list(self, name: str | None = None, **kwargs: Any) -> builtins.list[Data]:
        """Data versions (of ``name``). CLI: ``switchman data list``."""
        with translated():
            views = self._api.request("GET", "/api/data", params={"name": name} if name else None)
        return [Data._from_rest(v) for v in views]


class ComputeOperations(Operations):
    """Compute clusters (``AmlCompute``) that batch deployments run on."""

    def begin_create_or_update(self, compute: AmlCompute, **kwargs: Any) -> LROPoller[AmlCompute]:
        """Create the cluster. CLI: ``switchman compute create -n NAME --type amlcompute ...``."""
        if not isinstance(compute, BaseModel) or not isinstance(compute, AmlCompute):
            raise ValidationException(
                f"begin_create_or_update expects an AmlCompute, got {type(compute).__name__}."
            )
        with translated():
            view = self._api.request("POST", "/api/computes", {"spec": compute._to_rest()})
        return LROPoller.finished(AmlCompute._from_rest(dict(view)))

    def get(self, name: str) -> AmlCompute:
        """The cluster. CLI: ``switchman compute show -n NAME``."""
        with translated():
            return AmlCompute._from_rest(self._api.request("GET", f"/api/computes/{_q(name)}"))

    def list(self, **kwargs: Any) -> builtins.list[AmlCompute]:
        """Every cluster. CLI: ``switchman compute list``."""
        with translated():
            return [AmlCompute._from_rest(v) for v in self._api.request("GET", "/api/computes")]

    def begin_delete(self, name: str, **kwargs: Any) -> LROPoller[None]:
        """Delete the cluster. CLI: ``switchman compute delete -n NAME``."""
        path = f"/api/computes/{_q(name)}"
        with translated():
            self._api.request("DELETE", path)
        return LROPoller(lambda: _gone(lambda: self._api.request("GET", path)), timeout=300.0)
