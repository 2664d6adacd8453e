"""``GET /swagger.json``: OpenAPI documents for the scoring script (reference §9.6).

A document per version comes from the user's file in the app root (``swagger.json`` /
``swagger2.json`` for 2, ``swagger3.json`` for 3, ``swagger3.1.json`` for 3.1), else it is generated
from the inference-schema decorators using inference-schema's own helpers.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from inference_schema.schema_util import (
    get_input_schema,
    get_output_schema,
    get_supported_versions,
    is_schema_decorated,
)

logger = logging.getLogger("azmlinfsrv.swagger")

# version → (aliases, user files tried in order)
_VERSIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "2": (("2", "2.0"), ("swagger.json", "swagger2.json")),
    "3": (("3", "3.0"), ("swagger3.json",)),
    "3.1": (("3.1",), ("swagger3.1.json",)),
}
VALID_VERSIONS = frozenset(alias for aliases, _ in _VERSIONS.values() for alias in aliases)

_ERROR_SCHEMA = {"type": "object", "properties": {"message": {"type": "string"}}}
_UNDECORATED = {"type": "object", "example": {}}


class SwaggerError(Exception):
    """The asked-for version is unknown or not available for this script (answered 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SwaggerDocs:
    """The documents for one script, built once at startup."""

    def __init__(
        self,
        app_root: str,
        run: Callable[..., Any],
        *,
        service_name: str = "ML service",
        service_version: str = "1.0",
        path_prefix: str = "",
        documents: dict[str, Any] | None = None,
    ) -> None:
        self._docs: dict[str, bytes] = {}
        self.supported: list[str] = []
        prefix = f"/{path_prefix.strip('/')}" if path_prefix.strip("/") else ""
        skipped: list[str] = []
        for version, (aliases, files) in _VERSIONS.items():
            doc = _read_user_file(app_root, files, version)
            if doc is None and documents is not None:
                doc = documents.get(version)
            if doc is None:
                doc = _generate(version, aliases, run, service_name, service_version, prefix)
            if doc is None:
                skipped.append(version)
                continue
            encoded = json.dumps(doc).encode("utf-8")
            for alias in aliases:
                self._docs[alias] = encoded
            self.supported.append(version)
        if self.supported and skipped:
            logger.info(
                f"Swaggers are prepared for versions [{', '.join(self.supported)}] "
                f"and skipped for versions [{', '.join(skipped)}]."
            )
        elif self.supported:
            logger.info(
                f"Swaggers are prepared for the following versions: [{', '.join(self.supported)}]."
            )
        else:
            logger.info("No swagger is prepared.")

    def get(self, version: str) -> bytes:
        """The JSON document for ``version`` (an alias like ``2.0`` is fine)."""
        if version not in VALID_VERSIONS:
            raise SwaggerError(
                f"Swagger version [{version}] is not valid. "
                f"Supported versions: [{', '.join(self.supported)}]."
            )
        doc = self._docs.get(version)
        if doc is None:
            raise SwaggerError(
                f"Swagger version [{version}] is not supported for the scoring script. "
                f"Supported swagger versions: [{', '.join(self.supported)}]."
            )
        return doc


def _read_user_file(app_root: str, files: tuple[str, ...], version: str) -> Any:
    for name in files:
        path = os.path.join(app_root, name)
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            continue
        logger.info(f"Loaded user's swagger file for version [{version}] from {path}")
        return doc
    return None


def _generate(
    version: str,
    aliases: tuple[str, ...],
    run: Callable[..., Any],
    name: str,
    service_version: str,
    prefix: str,
) -> dict[str, Any] | None:
    supported = get_supported_versions(run)
    if not any(alias in supported for alias in aliases):
        return None
    if is_schema_decorated(run):
        service_input, service_output = get_input_schema(run), get_output_schema(run)
    else:
        service_input = service_output = dict(_UNDECORATED)
    info = {
        "title": name,
        "description": f"API specification for the Azure Machine Learning service {name}",
        "version": service_version,
    }
    if version == "2":
        return _swagger2(info, prefix, service_input, service_output)
    doc = _openapi3(info, prefix, service_input, service_output)
    if version == "3.1":
        doc["openapi"] = "3.1.0"
    return doc


_HEALTH_TEXT = "Simple health check endpoint to ensure the service is up at any given point."
_HEALTH_OK = (
    "If service is up and running, this response will be returned with the content 'Healthy'"
)
_SCORE_TEXT = "Run web service's model and get the prediction output"
_SCORE_BODY = "The input payload for executing the real-time machine learning service."
_SCORE_OK = (
    "The service processed the input correctly and provided a result prediction, if applicable."
)
_FAILED = "The service failed to execute due to an error."
_BEARER = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "description": "For example: Bearer abc123",
}


def _swagger2(
    info: dict[str, str], prefix: str, service_input: Any, service_output: Any
) -> dict[str, Any]:
    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/definitions/{name}"}

    failed = {"description": _FAILED, "schema": ref("ErrorResponse")}
    return {
        "swagger": "2.0",
        "info": info,
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {"Bearer": _BEARER},
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_TEXT,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "schema": {"type": "string"},
                            "examples": {"application/json": "Healthy"},
                        },
                        "default": failed,
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_TEXT,
                    "security": [{"Bearer": []}],
                    "parameters": [
                        {
                            "name": "serviceInputPayload",
                            "in": "body",
                            "description": _SCORE_BODY,
                            "schema": ref("ServiceInput"),
                        }
                    ],
                    "responses": {
                        "200": {"description": _SCORE_OK, "schema": ref("ServiceOutput")},
                        "default": failed,
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "type": "integer",
                            "enum": [2, 3],
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "schema": {"type": "string"},
                        },
                        "default": failed,
                    },
                }
            },
        },
        "definitions": {
            "ServiceInput": service_input,
            "ServiceOutput": service_output,
            "ErrorResponse": _ERROR_SCHEMA,
        },
    }


def _openapi3(
    info: dict[str, str], prefix: str, service_input: Any, service_output: Any
) -> dict[str, Any]:
    def content(media: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {media: {"schema": schema}}

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    failed = {"description": _FAILED, "content": content("application/json", ref("ErrorResponse"))}
    return {
        "openapi": "3.0.3",
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {
            f"{prefix}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "description": _HEALTH_TEXT,
                    "responses": {
                        "200": {
                            "description": _HEALTH_OK,
                            "content": content(
                                "text/plain", {"type": "string", "example": "Healthy"}
                            ),
                        },
                        "default": failed,
                    },
                }
            },
            f"{prefix}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "description": _SCORE_TEXT,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": _SCORE_BODY,
                        "content": content("application/json", ref("ServiceInput")),
                    },
                    "responses": {
                        "200": {
                            "description": _SCORE_OK,
                            "content": content("application/json", ref("ServiceOutput")),
                        },
                        "default": failed,
                    },
                }
            },
            f"{prefix}/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    "description": "Get the Swagger specification.",
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "enum": [2, 3]},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The Swagger specification.",
                            "content": content("text/plain", {"type": "string"}),
                        },
                        "default": failed,
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "ServiceInput": service_input,
                "ServiceOutput": service_output,
                "ErrorResponse": _ERROR_SCHEMA,
            },
            "securitySchemes": {"Bearer": _BEARER},
        },
    }
