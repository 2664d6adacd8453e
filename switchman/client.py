"""The REST client the CLI, the SDK and tests use to talk to a running control plane."""

from __future__ import annotations

import http.client
import json as jsonlib
import ssl
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from switchman.errors import (
    DeploymentFailedError,
    PlatformError,
    PlatformNotRunningError,
    SwitchmanError,
    error_from_body,
)
from switchman.home import Home

NOT_RUNNING = (
    "Switchman is not running for SWITCHMAN_HOME={home}. Start it with `switchman up` "
    "(and check that SWITCHMAN_HOME points at the home you started)."
)


class Client:
    """A thin typed wrapper over the control-plane REST API (docs/internals.md)."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        router_url: str | None = None,
        home: Home | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        # security: https API URLs are verified against the platform's CA (switchman.tls)
        self.ssl_context = ssl_context
        self._https = api_url.startswith("https://")
        self.router_url = router_url
        self.home = home
        parts = urlsplit(self.api_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        # The standard library's client keeps CLI start-up fast (httpx costs ~0.3 s to import).
        self._conn: http.client.HTTPConnection | None = None
        self._scoring: Any = None  # an httpx.Client, made on the first invoke

    @classmethod
    def from_home(cls, home: Home | None = None) -> Client:
        home = home or Home.from_env()
        server = home.read_server()
        token = home.admin_token()
        if not server or not token:
            raise PlatformNotRunningError(NOT_RUNNING.format(home=home.root))
        ctx = None
        if server.get("ca_file"):
            from switchman.tls import client_context

            ctx = client_context(server["ca_file"])
        return cls(
            server["api_url"],
            token,
            router_url=server.get("router_url"),
            home=home,
            ssl_context=ctx,
        )

    def close(self) -> None:
        if self._scoring is not None:
            self._scoring.close()
            self._scoring = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Call the API; a 4xx/5xx answer is raised as the SwitchmanError the server rendered."""
        if params:
            path = f"{path}?{urlencode(params)}"
        body = jsonlib.dumps(json).encode() if json is not None else None
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        status, raw = self._send(method, path, body, headers)
        try:
            data: Any = jsonlib.loads(raw) if raw else None
        except ValueError:
            data = raw.decode(errors="replace")
        if status >= 400:
            raise error_from_body(status, data)
        return data

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self._conn is None:
                if self._https:
                    self._conn = http.client.HTTPSConnection(
                        self._host, self._port, timeout=120.0, context=self.ssl_context
                    )
                else:
                    self._conn = http.client.HTTPConnection(self._host, self._port, timeout=120.0)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                return response.status, response.read()
            except ConnectionRefusedError:
                self.close()
                raise PlatformNotRunningError(
                    NOT_RUNNING.format(home=self.home.root if self.home else "?")
                ) from None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # A kept-alive connection the server closed: retry once on a fresh one.
                self.close()
                if attempt == 2:
                    raise PlatformError(
                        f"The control plane dropped {method} {path}: {exc}"
                    ) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise PlatformError(
                    f"The control plane did not answer {method} {path}: {exc}"
                ) from None
        raise AssertionError("unreachable")

    # -- endpoints -------------------------------------------------------------------------------
    # ``local=True`` addresses the local endpoint of a name, which may live beside a managed one.

    @staticmethod
    def _local(local: bool) -> dict[str, Any] | None:
        return {"local": "true"} if local else None

    def list_endpoints(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/online-endpoints"))

    def create_endpoint(self, spec: dict[str, Any], *, local: bool = False) -> dict[str, Any]:
        return dict(self.request("POST", "/api/online-endpoints", {"spec": spec, "local": local}))

    def get_endpoint(self, name: str, *, local: bool = False) -> dict[str, Any]:
        path = f"/api/online-endpoints/{name}"
        return dict(self.request("GET", path, params=self._local(local)))

    def update_endpoint(
        self, name: str, spec: dict[str, Any], *, local: bool = False
    ) -> dict[str, Any]:
        path = f"/api/online-endpoints/{name}"
        return dict(self.request("PUT", path, {"spec": spec}, params=self._local(local)))

    def delete_endpoint(
        self, name: str, *, wait: bool = True, timeout: float = 120.0, local: bool = False
    ) -> None:
        path = f"/api/online-endpoints/{name}"
        self.request("DELETE", path, params=self._local(local))
        if wait:
            self._wait_gone(path, timeout, f"endpoint {name}", local=local)

    def get_credentials(self, name: str, *, local: bool = False) -> dict[str, Any]:
        path = f"/api/online-endpoints/{name}/credentials"
        return dict(self.request("POST", path, params=self._local(local)))

    def regenerate_keys(
        self,
        name: str,
        key_type: str = "primary",
        key_value: str | None = None,
        *,
        local: bool = False,
    ) -> dict[str, Any]:
        body = {"key_type": key_type, "key_value": key_value}
        path = f"/api/online-endpoints/{name}/regenerate-keys"
        return dict(self.request("POST", path, body, params=self._local(local)))

    # -- deployments -----------------------------------------------------------------------------

    def list_deployments(self, endpoint: str, *, local: bool = False) -> list[dict[str, Any]]:
        path = f"/api/online-endpoints/{endpoint}/deployments"
        return list(self.request("GET", path, params=self._local(local)))

    def create_deployment(
        self,
        endpoint: str,
        spec: dict[str, Any],
        *,
        wait: bool = True,
        local: bool = False,
        timeout: float = 900.0,
    ) -> dict[str, Any]:
        view = dict(
            self.request(
                "POST",
                f"/api/online-endpoints/{endpoint}/deployments",
                {"spec": spec, "local": local},
            )
        )
        if not wait:
            return view
        return self.wait_deployment(endpoint, view["name"], timeout=timeout, local=local)

    def get_deployment(self, endpoint: str, name: str, *, local: bool = False) -> dict[str, Any]:
        path = f"/api/online-endpoints/{endpoint}/deployments/{name}"
        return dict(self.request("GET", path, params=self._local(local)))

    def update_deployment(
        self,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        *,
        wait: bool = True,
        timeout: float = 900.0,
        local: bool = False,
    ) -> dict[str, Any]:
        path = f"/api/online-endpoints/{endpoint}/deployments/{name}"
        self.request("PUT", path, {"spec": spec}, params=self._local(local))
        if wait:
            return self.wait_deployment(endpoint, name, timeout=timeout, local=local)
        return self.get_deployment(endpoint, name, local=local)

    def delete_deployment(
        self,
        endpoint: str,
        name: str,
        *,
        wait: bool = True,
        timeout: float = 120.0,
        local: bool = False,
    ) -> None:
        path = f"/api/online-endpoints/{endpoint}/deployments/{name}"
        self.request("DELETE", path, params=self._local(local))
        if wait:
            self._wait_gone(path, timeout, f"deployment {name}", local=local)

    def get_logs(
        self,
        endpoint: str,
        name: str,
        container: str = "inference-server",
        lines: int = 5000,
        *,
        local: bool = False,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "container": container,
            "lines": lines,
            **(self._local(local) or {}),
        }
        return dict(
            self.request(
                "GET", f"/api/online-endpoints/{endpoint}/deployments/{name}/logs", params=params
            )
        )

    def bearer(self, view: dict[str, Any]) -> str | None:
        """The key (or token) to score the endpoint of ``view`` with; None for local endpoints."""
        if view.get("location") == "local":
            return None
        creds = self.get_credentials(str(view["name"]))
        value = creds.get("primaryKey") or creds.get("accessToken")
        return str(value) if value else None

    def invoke(
        self,
        endpoint: str,
        body: bytes,
        *,
        deployment: str | None = None,
        local: bool = False,
        timeout: float = 200.0,
    ) -> str:
        """Score ``body`` on an online endpoint (its key or token sent for it); the answer's text.

        Used by `online-endpoint invoke` and the SDK's ``online_endpoints.invoke``.
        """
        import httpx  # only scoring needs it; keeping it out of start-up saves ~0.3 s a command

        view = self.get_endpoint(endpoint, local=local)
        headers = {"Content-Type": "application/json"}
        token = self.bearer(view)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if deployment:
            headers["azureml-model-deployment"] = deployment
        uri = str(view["scoring_uri"])
        if self._scoring is None:  # one pooled client: an SSL context per call costs ~100 ms
            verify: Any = self.ssl_context or True  # https scoring URIs: the platform's CA
            self._scoring = httpx.Client(trust_env=False, verify=verify)
        try:
            response = self._scoring.post(uri, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise SwitchmanError(
                f"Could not reach {uri}: {exc}. Is the router running (`switchman status`)?"
            ) from None
        if response.status_code >= 400:
            raise SwitchmanError(
                f"Scoring request failed with HTTP {response.status_code} "
                f"(x-request-id {response.headers.get('x-request-id', '?')}): {response.text[:2000]}",
                code=f"Http{response.status_code}",
            )
        return str(response.text)

    def wait_deployment(
        self,
        endpoint: str,
        name: str,
        *,
        timeout: float = 900.0,
        on_poll: Any = None,
        local: bool = False,
    ) -> dict[str, Any]:
        """Poll until the deployment is Succeeded (returned) or Failed (raised with the reason)."""
        deadline = time.monotonic() + timeout
        interval = 0.05
        while True:
            view = self.get_deployment(endpoint, name, local=local)
            state = view.get("provisioning_state")
            if on_poll is not None:
                on_poll(view)
            if state == "Succeeded":
                self.wait_router()
                return view
            if state == "Failed":
                error = view.get("error") or {}
                raise DeploymentFailedError(
                    f"Deployment {name!r} on endpoint {endpoint!r} failed: {error.get('message', 'unknown reason')} "
                    f"See `switchman online-deployment get-logs -n {name} -e {endpoint}`.",
                    code=str(error.get("code") or "ResourceNotReady"),
                )
            if time.monotonic() > deadline:
                raise SwitchmanError(
                    f"Deployment {name!r} is still {state} after {timeout:.0f}s; check "
                    f"`switchman online-deployment get-logs -n {name} -e {endpoint} --container storage-initializer`.",
                    code="OperationTimedOut",
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 0.2)

    # -- registry: models, environments (the SDK's models/environments operations, issue #14) ----

    def create_asset(self, segment: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Register a version; ``segment`` is ``models`` or ``environments``."""
        return dict(self.request("POST", f"/api/{segment}", {"spec": spec}))

    def get_asset(self, segment: str, name: str, version: str | None = None) -> dict[str, Any]:
        """One version, or the latest non-archived one when ``version`` is None."""
        name_part = quote(name, safe="")
        if version is None:
            return dict(self.request("GET", f"/api/{segment}/{name_part}/latest"))
        path = f"/api/{segment}/{name_part}/versions/{quote(version, safe='')}"
        return dict(self.request("GET", path))

    def list_assets(
        self, segment: str, name: str | None = None, *, include_archived: bool = False
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"include_archived": "true" if include_archived else "false"}
        if name:
            params["name"] = name
        return list(self.request("GET", f"/api/{segment}", params=params))

    def archive_model(self, name: str, version: str) -> dict[str, Any]:
        path = f"/api/models/{quote(name, safe='')}/versions/{quote(version, safe='')}/archive"
        return dict(self.request("POST", path))

    # -- autoscale (switchman monitor autoscale, issue #12) ---------------------------------------

    def autoscale(
        self, method: str, path: str = "", body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """``/api/autoscale/settings{path}``: the autoscale settings, rules and profiles."""
        return self.request(method, f"/api/autoscale/settings{path}", body, params)

    # -- connections (security: secret injection; secrets go in, only masks come back) ----------

    def put_connection(self, spec: dict[str, Any], source: str) -> dict[str, Any]:
        return dict(self.request("POST", "/api/connections", {"spec": spec, "source": source}))

    def get_connection(self, name: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/connections/{name}"))

    def list_connections(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/connections"))

    def delete_connection(self, name: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/api/connections/{name}"))

    def wait_router(self, timeout: float = 5.0) -> None:
        """Wait until the router serves the route table the control plane last published, so a
        deployment that `show` calls Succeeded is scorable (the router reloads routes.json within
        ~100 ms). Best effort: returns at the timeout, or at once without a home or router URL."""
        if self.home is None or not self.router_url:
            return
        try:
            published = int(jsonlib.loads(self.home.routes_file.read_text()).get("version", 0))
        except (OSError, ValueError, AttributeError):
            return
        import httpx

        deadline = time.monotonic() + timeout
        verify: Any = self.ssl_context or True
        with httpx.Client(trust_env=False, timeout=2.0, verify=verify) as http:
            while time.monotonic() < deadline:
                try:
                    answer = http.get(f"{self.router_url.rstrip('/')}/-/ready")
                    if int(answer.json().get("version", -1)) >= published:
                        return
                except (httpx.HTTPError, ValueError, AttributeError):
                    pass
                time.sleep(0.02)

    def _wait_gone(self, path: str, timeout: float, what: str, *, local: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.request("GET", path, params=self._local(local))
            except SwitchmanError as exc:
                if exc.status == 404:
                    return
                raise
            time.sleep(0.1)
        raise SwitchmanError(
            f"{what} is still being deleted after {timeout:.0f}s.", code="OperationTimedOut"
        )

    # -- safe rollout (switchman.controlplane.api_rollout) ----------------------------------------
    def start_rollout(self, endpoint: str, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self.request("POST", f"/api/online-endpoints/{endpoint}/rollout", {"spec": spec})
        )

    def get_rollout(self, endpoint: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/online-endpoints/{endpoint}/rollout"))

    def cancel_rollout(self, endpoint: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/api/online-endpoints/{endpoint}/rollout/cancel"))

    def shadow_reports(self, endpoint: str, since_s: float = 900.0) -> list[dict[str, Any]]:
        return list(
            self.request(
                "GET", f"/api/online-endpoints/{endpoint}/shadow", params={"since": since_s}
            )
        )

    # -- batch endpoints, jobs, computes, data (issue 10) ---------------------------------------

    def batch(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """One call to the batch API (``/api/batch-endpoints``, ``/api/jobs``, ``/api/computes``,
        ``/api/data``, ``/api/account``); ``path`` is below ``/api``."""
        query = {k: v for k, v in params.items() if v is not None}
        return self.request(method, "/api" + path, body, params=query or None)

    def invoke_batch(self, endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
        return dict(
            self.batch("POST", f"/batch-endpoints/{quote(endpoint, safe='')}/jobs", request)
        )

    def get_job(self, name: str) -> dict[str, Any]:
        return dict(self.batch("GET", f"/jobs/{quote(name, safe='')}"))

    def wait_job(self, name: str, *, timeout: float = 900.0, on_poll: Any = None) -> dict[str, Any]:
        """Poll until the job is in a terminal state; return its view."""
        deadline = time.monotonic() + timeout
        interval = 0.05
        while True:
            view = self.get_job(name)
            if on_poll is not None:
                on_poll(view)
            if view.get("status") in ("Completed", "Failed", "Canceled", "NotResponding"):
                return view
            if time.monotonic() > deadline:
                raise SwitchmanError(
                    f"Job {name!r} is still {view.get('status')} after {timeout:.0f}s.",
                    code="OperationTimedOut",
                )
            time.sleep(interval)
            interval = min(interval * 1.5, 0.5)
