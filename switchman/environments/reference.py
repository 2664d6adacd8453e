"""A deployment's ``environment`` → the resolved environment dict stored with the deployment.

Three kinds of reference (reference §3.5):

- inline: an EnvironmentSpec (or its dict); a ``conda_file`` path is read and inlined as a mapping
  and a ``build.path`` context is read (see :mod:`switchman.environments.context`), so later edits
  of those files do not change a deployment that already exists;
- registered: ``azureml:name:version``, ``azureml:name@latest``, ``azureml:name`` (latest) or
  ``azureml:/subscriptions/.../environments/<name>/versions/<version>``, read through ``lookup``;
- curated: ``AzureML-sklearn-1.5``, ``azureml:AzureML-minimal-ubuntu22.04-py39-cpu-inference:3``,
  ``azureml://registries/azureml/environments/sklearn-1.5/labels/latest`` (see
  :mod:`switchman.environments.curated`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from switchman.environments.context import read_context
from switchman.environments.curated import curated, is_curated_name, known_families
from switchman.errors import BadArgumentError, NotFoundError
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.loader import validate

Lookup = Callable[[str, str | None], dict[str, Any] | None]
"""``lookup(name, version_or_None)`` → the registered environment's spec dict (None = latest)."""

_ARM_ID = re.compile(r"^/?subscriptions/.+/environments/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/?$", re.IGNORECASE)  # fmt: skip
_REGISTRY = re.compile(r"^azureml://registries/(?P<registry>[^/]+)/environments/(?P<name>[^/]+)(?:/(?:versions|labels)/(?P<version>[^/]+))?/?$", re.IGNORECASE)  # fmt: skip


def resolve(
    reference: str | dict[str, Any] | EnvironmentSpec | None, *, lookup: Lookup
) -> dict[str, Any] | None:
    """Resolve a deployment's ``environment`` into a self-contained EnvironmentSpec dict.

    Args:
        reference: the deployment's ``environment`` value.
        lookup: reads the environment registry; ``lookup(name, None)`` is the latest version.

    Returns:
        The resolved dict (``conda_file`` inlined as a mapping), or None for no environment.

    Raises:
        NotFoundError: a registered or curated name that does not exist.
        BadArgumentError: an inline environment, or a file it names, is invalid.
    """
    if reference is None:
        return None
    if isinstance(reference, EnvironmentSpec):
        return inline(reference)
    if isinstance(reference, dict):
        return inline(_validate(reference))
    if isinstance(reference, str):
        return _by_name(reference.strip(), lookup)
    raise BadArgumentError(
        f"environment must be a name (azureml:<name>:<version>) or an inline mapping, got {reference!r}."
    )


def inline(spec: EnvironmentSpec) -> dict[str, Any]:
    """The spec as a dict with its conda file (or build context) read and inlined."""
    data = spec.to_dict()
    if isinstance(spec.conda_file, str):
        data["conda_file"] = read_conda_file(spec.conda_file)
    if spec.build is not None and spec.conda_file is None:
        data["conda_file"] = read_context(spec.build.path, spec.build.dockerfile_path)
    return data


def read_conda_file(path: str | Path) -> dict[str, Any]:
    """Read a conda YAML file into a mapping; errors name the file and how to fix it."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text())
    except FileNotFoundError:
        raise BadArgumentError(
            f"The environment's conda_file {str(file)!r} does not exist. Relative paths resolve "
            "against the YAML file that names them; fix the path."
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise BadArgumentError(f"Cannot read the conda file {file}: {exc}.") from None
    if not isinstance(data, dict):
        raise BadArgumentError(
            f"The conda file {file} must be a mapping with `dependencies:`, not {type(data).__name__}."
        )
    return data


def _validate(data: dict[str, Any]) -> EnvironmentSpec:
    return validate(EnvironmentSpec, data, source="the inline environment")


def split_reference(reference: str) -> tuple[str, str | None, bool]:
    """``(name, version or None for latest, came from the azureml registry)`` of a name reference."""
    registry = _REGISTRY.match(reference)
    if registry:
        version = registry.group("version")
        return registry.group("name"), None if version == "latest" else version, True
    text = reference.removeprefix("azureml:")
    arm = _ARM_ID.match(text)
    if arm:
        return arm.group("name"), arm.group("version"), False
    if "@" in text:
        name, label = text.rsplit("@", 1)
        if label != "latest":
            raise BadArgumentError(
                f"environment {reference!r}: the only label Switchman knows is @latest; "
                "use azureml:<name>:<version> or azureml:<name>@latest."
            )
        return name, None, False
    if ":" in text:
        name, version = text.split(":", 1)
        return name, version or None, False
    return text, None, False


def _by_name(reference: str, lookup: Lookup) -> dict[str, Any]:
    name, version, from_registry = split_reference(reference)
    if not name:
        raise BadArgumentError(
            f"environment {reference!r} has no name; use azureml:<name>:<version>."
        )
    if not from_registry:
        found = lookup(name, version)
        if found is not None:
            # Accept a bare spec dict or a whole store record ({"kind", "name", "version", "spec"}).
            record = found if isinstance(found.get("spec"), dict) and "kind" in found else None
            data = inline(_validate(dict(record["spec"] if record else found)))
            data.setdefault("name", name)
            if "version" not in data and record is not None:
                data["version"] = str(record["version"])
            return data
    if from_registry or is_curated_name(name):
        resolved = curated(name)
        if resolved is not None:
            if version is not None:
                resolved["version"] = version
            return resolved
        raise NotFoundError(
            f"Environment {reference!r} is not a curated environment Switchman knows. Known curated "
            f"families: {known_families()}. Register your own with `switchman environment create "
            "-f env.yml` or define the environment inline in the deployment YAML."
        )
    which = f"version {version}" if version else "any version"
    raise NotFoundError(
        f"Environment {name!r} ({which}) is not registered (reference {reference!r}). Register it "
        f"with `switchman environment create -f env.yml` (name: {name}), check the name with "
        "`switchman environment list`, or define the environment inline in the deployment YAML."
    )
