"""The azmlinfsrv scripting API without Flask: ``AMLRequest``, ``AMLResponse`` and ``@rawhttp``.

Scoring scripts import these through ``azureml.contrib.services.aml_request`` /
``aml_response`` or ``azureml_inference_server_http.api.aml_request`` / ``aml_response``;
the runtime ships those module paths as thin shims (``switchman/runtime/shims``) that re-export
this module, so scripts run unmodified without the Azure SDK.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from io import BytesIO
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from switchman.runtime.datastructures import FileStorage, Headers, MultiDict
from switchman.runtime.forms import parse_form, parse_options_header

F = TypeVar("F", bound=Callable[..., Any])

# azmlinfsrv flips one process-wide flag when any function is decorated with @rawhttp; the loader
# reads it after importing the script (see ``raw_http_requested``).
_raw_http_requested = False


def rawhttp(func: F) -> F:
    """Mark ``run()`` as wanting the raw HTTP request (an :class:`AMLRequest`)."""
    global _raw_http_requested
    _raw_http_requested = True
    return func


def raw_http_requested() -> bool:
    """Whether a script imported in this process used ``@rawhttp``."""
    return _raw_http_requested


def reset_raw_http_flag() -> None:
    """Forget an earlier ``@rawhttp`` (for loading a second script in one process, e.g. tests)."""
    global _raw_http_requested
    _raw_http_requested = False


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AMLRequest:
    """The request a ``@rawhttp`` ``run()`` receives: the Flask/werkzeug ``Request`` surface.

    Built by the runtime from the parsed HTTP request; scripts only read it.
    """

    def __init__(
        self,
        method: str = "GET",
        path: str = "/score",
        query_string: bytes = b"",
        headers: Headers | None = None,
        body: bytes = b"",
        *,
        host: str = "127.0.0.1",
        scheme: str = "http",
        remote_addr: str | None = None,
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.query_string = query_string
        self.headers = headers if headers is not None else Headers()
        self._body = body
        self.scheme = scheme
        self.remote_addr = remote_addr
        self._host = host
        self._args: MultiDict[str] | None = None
        self._form: MultiDict[str] | None = None
        self._files: MultiDict[FileStorage] | None = None

    def __repr__(self) -> str:
        return f"<AMLRequest '{self.url}' [{self.method}]>"

    # --- URL -----------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return str(self.headers.get("Host") or self._host)

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('latin-1')}"

    @property
    def script_root(self) -> str:
        return ""

    @property
    def root_url(self) -> str:
        return f"{self.scheme}://{self.host}/"

    host_url = root_url

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"

    @property
    def url(self) -> str:
        if self.query_string:
            return f"{self.base_url}?{self.query_string.decode('latin-1')}"
        return self.base_url

    @property
    def args(self) -> MultiDict[str]:
        if self._args is None:
            pairs = parse_qsl(self.query_string.decode("utf-8", "replace"), keep_blank_values=True)
            self._args = MultiDict(pairs)
        return self._args

    # --- body ----------------------------------------------------------------------------------
    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return str(value) if value is not None else None

    @property
    def mimetype(self) -> str:
        return parse_options_header(self.content_type)[0]

    @property
    def mimetype_params(self) -> dict[str, str]:
        return parse_options_header(self.content_type)[1]

    @property
    def content_length(self) -> int | None:
        return len(self._body) if self._body or "Content-Length" in self.headers else None

    @property
    def is_json(self) -> bool:
        mt = self.mimetype
        return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))

    @property
    def stream(self) -> BytesIO:
        return BytesIO(self._body)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> Any:
        """The raw body (``str`` when ``as_text``)."""
        if as_text:
            return self._body.decode(self.mimetype_params.get("charset", "utf-8"), "replace")
        return self._body

    @property
    def data(self) -> bytes:
        # werkzeug consumes form bodies into .form/.files, so .data is empty for them.
        if self.mimetype in _FORM_TYPES:
            return b""
        return self._body

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The body parsed as JSON; ``None`` with ``silent`` when it is not JSON."""
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError(
                "Did not attempt to load JSON data because the request Content-Type was not "
                "'application/json'."
            )
        try:
            return json.loads(self._body)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()

    def _load_form(self) -> None:
        if self._form is None or self._files is None:
            self._form, self._files = parse_form(self._body, self.content_type)

    @property
    def form(self) -> MultiDict[str]:
        self._load_form()
        assert self._form is not None
        return self._form

    @property
    def files(self) -> MultiDict[FileStorage]:
        self._load_form()
        assert self._files is not None
        return self._files

    @property
    def values(self) -> MultiDict[str]:
        return MultiDict([*self.args.items(multi=True), *self.form.items(multi=True)])

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for header in self.headers.getlist("Cookie"):
            for part in header.split(";"):
                name, sep, value = part.strip().partition("=")
                if sep:
                    jar.setdefault(name, value)
        return jar

    @property
    def user_agent(self) -> str:
        return str(self.headers.get("User-Agent", ""))

    @property
    def environ(self) -> dict[str, Any]:
        """A minimal WSGI environ, for scripts that read ``REQUEST_METHOD`` and the like."""
        env: dict[str, Any] = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.query_string.decode("latin-1"),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": self.scheme,
            "REMOTE_ADDR": self.remote_addr or "",
        }
        for name, value in self.headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            env[key] = value
        return env


class AMLResponse:
    """A response ``run()`` returns as-is: ``AMLResponse(message, status_code, response_headers,
    json_str, run_function_failed)``, with the werkzeug ``Response`` attributes scripts use.

    ``message`` may be ``str``, ``bytes``, an iterable of chunks (a generator is streamed) or,
    with ``json_str=True``, any JSON-serialisable value. ``None`` gives ``{}``. Header values
    with commas become repeated headers, as azmlinfsrv does.
    """

    default_mimetype = "text/html"

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: dict[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        self.headers = Headers()
        self.status_code = int(status_code)
        self.response: Iterable[Any]
        if message is None or json_str:
            self.set_data(json.dumps(message if message is not None else {}))
            self.mimetype = "application/json"
        else:
            self._set_body(message)
            self.mimetype = self.default_mimetype
            if response_headers and any(k.lower() == "content-type" for k in response_headers):
                self.headers.remove("Content-Type")
        self.headers["x-ms-run-function-failed"] = run_function_failed
        for name, value in (response_headers or {}).items():
            for part in str(value).split(","):
                self.headers.add(name, part.strip())

    def __repr__(self) -> str:
        return f"<AMLResponse [{self.status_code}]>"

    def _set_body(self, message: Any) -> None:
        if isinstance(message, (str, bytes, bytearray)):
            self.set_data(message)
        else:
            self.response = message

    @property
    def status(self) -> str:
        try:
            return f"{self.status_code} {HTTPStatus(self.status_code).phrase.upper()}"
        except ValueError:
            return f"{self.status_code} UNKNOWN"

    @property
    def is_streamed(self) -> bool:
        """True for a body without a length (a generator): it is sent chunked."""
        try:
            len(self.response)  # type: ignore[arg-type]
        except TypeError:
            return True
        return False

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return str(value) if value is not None else None

    @content_type.setter
    def content_type(self, value: str) -> None:
        self.headers["Content-Type"] = value

    @property
    def mimetype(self) -> str | None:
        ct = self.content_type
        return parse_options_header(ct)[0] if ct else None

    @mimetype.setter
    def mimetype(self, value: str) -> None:
        if value.startswith("text/") or value in (
            "application/xml",
            "application/javascript",
            "application/ecmascript",
        ):
            value = f"{value}; charset=utf-8"
        self.headers["Content-Type"] = value

    def iter_encoded(self) -> Iterator[bytes]:
        """The body chunks as bytes (str chunks are UTF-8 encoded)."""
        for chunk in self.response:
            if isinstance(chunk, str):
                yield chunk.encode("utf-8")
            elif isinstance(chunk, (bytes, bytearray, memoryview)):
                yield bytes(chunk)
            else:
                raise TypeError(
                    f"AMLResponse body chunks must be str or bytes, not {type(chunk).__name__}"
                )

    def get_data(self, as_text: bool = False) -> Any:
        data = b"".join(self.iter_encoded())
        if self.is_streamed:  # a consumed generator: keep what it gave
            self.response = [data]
        return data.decode("utf-8") if as_text else data

    def set_data(self, value: str | bytes | bytearray) -> None:
        self.response = [value.encode("utf-8") if isinstance(value, str) else bytes(value)]

    @property
    def data(self) -> bytes:
        return bytes(self.get_data())

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def content_length(self) -> int | None:
        return None if self.is_streamed else len(self.get_data())

    def get_json(self, force: bool = False, silent: bool = False) -> Any:
        try:
            return json.loads(self.get_data())
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()
