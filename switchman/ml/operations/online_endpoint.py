"""``ml_client.online_endpoints``: azure-ai-ml's ``OnlineEndpointOperations``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchman.errors import NotFoundError, SwitchmanError
from switchman.ml.entities.endpoint import (
    EndpointAuthKeys,
    EndpointAuthToken,
    ManagedOnlineEndpoint,
    OnlineEndpoint,
)
from switchman.ml.exceptions import (
    ResourceNotFoundError,
    ValidationException,
    from_switchman,
    translated,
)
from switchman.ml.operations._base import Operations, editable, find
from switchman.ml.poller import LROPoller, Poll, running, succeeded

_BUSY = ("Creating", "Updating")


class OnlineEndpointOperations(Operations):
    """Create, change, score and delete online endpoints (``local=True``: the local endpoint of the
    name, which lives beside a managed endpoint of the same name)."""

    def get(self, name: str, *, local: bool = False) -> OnlineEndpoint:
        """The endpoint. CLI: ``switchman online-endpoint show -n NAME [--local]``.

        Raises:
            ResourceNotFoundError: no such endpoint.
        """
        with translated():
            return ManagedOnlineEndpoint._from_rest(self._api.get_endpoint(name, local=local))

    def list(self, *, local: bool = False) -> list[OnlineEndpoint]:
        """Every endpoint (the local ones with ``local=True``). CLI: ``switchman online-endpoint list``."""
        with translated():
            views = self._api.list_endpoints()
        return [
            ManagedOnlineEndpoint._from_rest(v)
            for v in views
            if (v.get("location") == "local") == local
        ]

    def begin_create_or_update(
        self, endpoint: OnlineEndpoint, *, local: bool = False, **kwargs: Any
    ) -> LROPoller[OnlineEndpoint]:
        """Create the endpoint, or update it (traffic, mirror_traffic, tags...) when it exists.

        CLI: ``switchman online-endpoint create -f endpoint.yml`` / ``update -n NAME --traffic ...``.
        """
        if not isinstance(endpoint, OnlineEndpoint):
            raise ValidationException(
                f"begin_create_or_update expects an OnlineEndpoint, got {type(endpoint).__name__}."
            )
        api = self._api
        name = endpoint.name
        current = find(lambda: api.get_endpoint(name, local=local))
        with translated():
            if current is None:
                api.create_endpoint(endpoint._to_rest(), local=local)
            else:
                api.update_endpoint(name, {**editable(current), **endpoint._to_rest()}, local=local)
        poller = LROPoller(lambda: self._observe(name, local))
        if local:
            return LROPoller.finished(poller.result())
        return poller

    def _observe(self, name: str, local: bool) -> Poll[OnlineEndpoint]:
        with translated():
            view = self._api.get_endpoint(name, local=local)
        if view.get("provisioning_state") in _BUSY:
            return running()
        return succeeded(ManagedOnlineEndpoint._from_rest(view))

    def begin_delete(self, name: str | None = None, *, local: bool = False) -> LROPoller[None]:
        """Delete the endpoint and its deployments. CLI: ``switchman online-endpoint delete -n NAME``."""
        if not name:
            raise ValidationException("begin_delete needs the endpoint's name: name=...")
        with translated():
            self._api.request(
                "DELETE",
                f"/api/online-endpoints/{name}",
                params={"local": "true"} if local else None,
            )
        poller: LROPoller[None] = LROPoller(lambda: self._gone(name, local), timeout=300.0)
        if local:
            poller.result()
        return poller

    def _gone(self, name: str, local: bool) -> Poll[None]:
        try:
            self._api.get_endpoint(name, local=local)
        except NotFoundError:
            return succeeded(None)
        except SwitchmanError as exc:
            raise from_switchman(exc) from None
        return running()

    def get_keys(self, name: str) -> EndpointAuthKeys | EndpointAuthToken:
        """The keys (key auth) or a token (aml_token). CLI: ``switchman online-endpoint get-credentials``."""
        with translated():
            creds = self._api.get_credentials(name)
        if "accessToken" in creds:
            return EndpointAuthToken(
                access_token=creds.get("accessToken"),
                expiry_time_utc=int(creds.get("expiryTimeUtc") or 0),
                refresh_after_time_utc=int(creds.get("refreshAfterTimeUtc") or 0),
                token_type=creds.get("tokenType"),
            )
        return EndpointAuthKeys(
            primary_key=creds.get("primaryKey"), secondary_key=creds.get("secondaryKey")
        )

    def begin_regenerate_keys(
        self, name: str, *, key_type: str = "primary", **kwargs: Any
    ) -> LROPoller[None]:
        """New primary or secondary key. CLI: ``switchman online-endpoint regenerate-keys``."""
        with translated():
            self._api.regenerate_keys(name, key_type, kwargs.get("key_value"))
        return LROPoller.finished(None)

    def invoke(
        self,
        endpoint_name: str,
        *,
        request_file: str | None = None,
        deployment_name: str | None = None,
        input_data: Any = None,
        params_override: Any = None,
        local: bool = False,
        **kwargs: Any,
    ) -> str:
        """Score a request on the endpoint; returns the answer's body text.

        CLI: ``switchman online-endpoint invoke -n NAME --request-file sample.json [-d blue]``.

        Raises:
            ResourceNotFoundError: no such endpoint.
            HttpResponseError: the endpoint answered with an error status.
        """
        if request_file is not None:
            try:
                body = Path(request_file).read_bytes()
            except OSError as exc:
                raise ValidationException(
                    f"Cannot read request_file {request_file!r}: {exc.strerror}."
                ) from None
        elif input_data is not None:
            body = (
                input_data.encode()
                if isinstance(input_data, str)
                else json.dumps(input_data).encode()
            )
        else:
            raise ValidationException("invoke needs request_file=... (or input_data=...).")
        with translated():
            try:
                return self._api.invoke(
                    endpoint_name, body, deployment=deployment_name, local=local
                )
            except NotFoundError as exc:
                raise ResourceNotFoundError(exc.message) from None
