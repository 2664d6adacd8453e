"""Azure ML curated environment names → the packages Switchman installs for them.

Azure ML's curated environments are Docker images with a framework at a given version
(``AzureML-sklearn-1.5``, ``AzureML-sklearn-1.0-ubuntu20.04-py38-cpu``,
``azureml://registries/azureml/environments/sklearn-1.5/labels/latest``, ...). Switchman runs
instances on the platform's own Python, so a curated name stands for its framework *at the named
version or newer*: the images target older Pythons (py38, py39) whose old wheels often do not exist
for the Python Switchman runs on, and Azure rebuilds curated images with newer patch releases over
time anyway. Pin an exact version with a conda file when a model needs one. The table is documented
in docs/environments.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CURATED_IMAGE = "mcr.microsoft.com/azureml/curated/{family}:latest"


@dataclass(frozen=True)
class Family:
    """One curated family: the framework package and the packages its image also carries."""

    name: str
    package: str | None
    extras: tuple[str, ...]


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("sklearn", "scikit-learn", ("numpy", "scipy", "pandas", "joblib")),
        Family("pytorch", "torch", ("numpy",)),
        Family("acpt-pytorch", "torch", ("numpy",)),
        Family("tensorflow", "tensorflow", ("numpy",)),
        Family("lightgbm", "lightgbm", ("scikit-learn", "numpy", "pandas", "joblib")),
        Family("xgboost", "xgboost", ("scikit-learn", "numpy", "pandas", "joblib")),
        Family("mlflow", "mlflow-skinny", ("numpy", "pandas", "scikit-learn", "joblib")),
        Family("minimal", None, ()),
    )
}

# AzureML-<family>[-<x.y>][-ubuntu20.04-py38-cpu[-inference]]; longest family names first so
# "acpt-pytorch" wins over "pytorch".
_FAMILY_ALT = "|".join(re.escape(n) for n in sorted(FAMILIES, key=len, reverse=True))
_CURATED = re.compile(
    rf"^(?:azureml-)?(?P<family>{_FAMILY_ALT})(?:-(?P<version>\d+(?:\.\d+)*))?(?:-.*)?$",
    re.IGNORECASE,
)


def is_curated_name(name: str) -> bool:
    """True for names in Azure ML's curated style (``AzureML-...``)."""
    return name.lower().startswith("azureml-")


def curated(name: str) -> dict[str, object] | None:
    """The resolved environment for a curated name, or None when the family is unknown.

    Args:
        name: the environment name without ``azureml:`` and without a ``:version``/``@label``
            (``AzureML-sklearn-1.0-ubuntu20.04-py38-cpu``, or the registry form ``sklearn-1.5``).

    Returns:
        An EnvironmentSpec dict whose ``conda_file`` is inlined, tagged ``switchman.curated``.
    """
    match = _CURATED.match(name)
    if not match:
        return None
    family = FAMILIES[match.group("family").lower()]
    version = match.group("version")
    pip: list[str] = []
    if family.package:
        pip.append(f"{family.package}>={version}" if version else family.package)
    pip.extend(family.extras)
    return {
        "name": name,
        "image": CURATED_IMAGE.format(family=name.lower().removeprefix("azureml-")),
        "conda_file": {"name": name, "dependencies": [{"pip": pip}]},
        "tags": {"switchman.curated": family.name},
    }


def known_families() -> str:
    """The families this table knows, for error messages."""
    return ", ".join(f"AzureML-{n}-<version>" for n in FAMILIES if n != "minimal") + (
        ", AzureML-minimal-ubuntu22.04-py39-cpu-inference"
    )
