"""resolve(): inline, registered and curated environments; build contexts; keys; prune."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from switchman.environments import environment_hash, prune, resolve, runtime_pythonpath
from switchman.environments.builder import build_failure_message, failing_package
from switchman.errors import BadArgumentError, NotFoundError
from switchman.home import Home
from switchman.spec.environment import EnvironmentSpec
from tests.support.env import TESTDATA

REGISTRY: dict[tuple[str, str], dict[str, Any]] = {
    ("env", "1"): {"name": "env", "version": "1", "conda_file": {"dependencies": ["six=1.15"]}},
    ("env", "2"): {"name": "env", "version": "2", "conda_file": {"dependencies": ["six=1.16"]}},
}


def lookup(name: str, version: str | None) -> dict[str, Any] | None:
    if version is None:
        versions = sorted(v for n, v in REGISTRY if n == name)
        return REGISTRY[(name, versions[-1])] if versions else None
    return REGISTRY.get((name, version))


def nothing(name: str, version: str | None) -> None:
    return None


def test_no_environment() -> None:
    assert resolve(None, lookup=nothing) is None


def test_inline_conda_file_is_read_and_kept(tmp_path: Path) -> None:
    conda = tmp_path / "conda.yaml"
    conda.write_text("dependencies:\n  - pip:\n    - six==1.15.0\n")
    resolved = resolve({"image": "img", "conda_file": str(conda)}, lookup=nothing)
    conda.write_text("dependencies:\n  - pip:\n    - six==1.16.0\n")
    assert resolved is not None
    assert resolved["conda_file"] == {"dependencies": [{"pip": ["six==1.15.0"]}]}
    assert resolved["image"] == "img"
    assert EnvironmentSpec.model_validate(resolved).conda_file == resolved["conda_file"]


def test_inline_spec_object_and_missing_file(tmp_path: Path) -> None:
    spec = EnvironmentSpec(conda_file={"dependencies": ["six"]})
    assert resolve(spec, lookup=nothing) == spec.to_dict()
    with pytest.raises(BadArgumentError, match=r"missing\.yaml.*does not exist"):
        resolve({"conda_file": str(tmp_path / "missing.yaml")}, lookup=nothing)


def test_invalid_inline_environment_names_the_field() -> None:
    with pytest.raises(BadArgumentError, match="channels"):
        resolve({"channels": ["conda-forge"]}, lookup=nothing)


@pytest.mark.parametrize(
    ("reference", "version"),
    [
        ("azureml:env:1", "1"),
        ("azureml:env:2", "2"),
        ("azureml:env@latest", "2"),
        ("azureml:env", "2"),
        (
            "azureml:/subscriptions/s/resourceGroups/g/providers/x/workspaces/w/environments/env/versions/1",
            "1",
        ),
    ],
)
def test_registered_by_version_and_latest(reference: str, version: str) -> None:
    resolved = resolve(reference, lookup=lookup)
    assert resolved is not None
    assert resolved["version"] == version
    assert resolved["conda_file"] == REGISTRY[("env", version)]["conda_file"]


def test_registered_from_a_store_record() -> None:
    record = {"kind": "environment", "name": "rec", "version": "7", "spec": {"conda_file": {}}}
    resolved = resolve("azureml:rec:7", lookup=lambda n, v: record)
    assert resolved == {
        "name": "rec",
        "version": "7",
        "tags": {},
        "conda_file": {},
        "os_type": "linux",
    }


def test_unknown_registered_name_says_how_to_register() -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve("azureml:nope:3", lookup=lookup)
    assert (
        "'nope'" in caught.value.message and "switchman environment create" in caught.value.message
    )
    with pytest.raises(BadArgumentError, match="@latest"):
        resolve("azureml:env@prod", lookup=lookup)


@pytest.mark.parametrize(
    ("reference", "pip"),
    [
        ("AzureML-sklearn-1.5", ["scikit-learn>=1.5", "numpy", "scipy", "pandas", "joblib"]),
        (
            "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
            ["scikit-learn>=1.0", "numpy", "scipy", "pandas", "joblib"],
        ),
        ("azureml:AzureML-minimal-ubuntu22.04-py39-cpu-inference@latest", []),
        ("AzureML-pytorch-1.10-ubuntu18.04-py38-cuda11-gpu", ["torch>=1.10", "numpy"]),
        ("AzureML-acpt-pytorch-2.2-cuda12.1", ["torch>=2.2", "numpy"]),
        ("AzureML-tensorflow-2.12-cuda11", ["tensorflow>=2.12", "numpy"]),
        (
            "AzureML-lightgbm-3.2-ubuntu18.04-py37-cpu",
            ["lightgbm>=3.2", "scikit-learn", "numpy", "pandas", "joblib"],
        ),
        (
            "AzureML-xgboost-0.9-ubuntu18.04-py37-cpu-inference",
            ["xgboost>=0.9", "scikit-learn", "numpy", "pandas", "joblib"],
        ),
        (
            "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            ["scikit-learn>=1.5", "numpy", "scipy", "pandas", "joblib"],
        ),
    ],
)
def test_curated_names(reference: str, pip: list[str]) -> None:
    resolved = resolve(reference, lookup=nothing)
    assert resolved is not None
    assert resolved["conda_file"]["dependencies"] == [{"pip": pip}]
    assert resolved["tags"]["switchman.curated"]
    assert resolved["image"].startswith("mcr.microsoft.com/azureml/curated/")


def test_curated_version_is_kept_and_registry_wins() -> None:
    resolved = resolve("azureml:AzureML-sklearn-1.5:4", lookup=nothing)
    assert resolved is not None and resolved["version"] == "4"
    mine = {"conda_file": {"dependencies": ["six"]}}
    assert resolve("azureml:AzureML-sklearn-1.5:4", lookup=lambda n, v: mine) == {
        **EnvironmentSpec.model_validate(mine).to_dict(),
        "name": "AzureML-sklearn-1.5",
    }


def test_unknown_curated_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"AzureML-sklearn-<version>.*environment create"):
        resolve("AzureML-cobol-1.0", lookup=nothing)


def test_build_context_reads_dockerfile_requirements() -> None:
    context = TESTDATA / "context"
    resolved = resolve({"build": {"path": str(context)}}, lookup=nothing)
    assert resolved is not None
    assert resolved["build"]["path"] == str(context)
    assert resolved["conda_file"]["dependencies"] == [
        "numpy=1.26",
        {"pip": ["joblib", "idna==3.6", "six==1.16.0"]},
    ]


def test_build_context_without_dockerfile_reads_requirements(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six==1.15.0\n")
    resolved = resolve({"build": {"path": str(tmp_path)}}, lookup=nothing)
    assert resolved is not None
    assert resolved["conda_file"]["dependencies"] == [{"pip": ["six==1.15.0"]}]
    (tmp_path / "Dockerfile").write_text("FROM x\nRUN pip install -r nowhere.txt\n")
    with pytest.raises(BadArgumentError, match=r"nowhere\.txt"):
        resolve({"build": {"path": str(tmp_path)}}, lookup=nothing)


def test_environment_hash_follows_content_only() -> None:
    one = resolve({"conda_file": {"dependencies": [{"pip": ["six==1.15.0"]}]}}, lookup=nothing)
    same = resolve(
        {"image": "other", "conda_file": {"dependencies": ["six==1.15.0"]}}, lookup=nothing
    )
    other = resolve({"conda_file": {"dependencies": [{"pip": ["six==1.16.0"]}]}}, lookup=nothing)
    assert environment_hash(one) == environment_hash(same)
    assert environment_hash(one) != environment_hash(other)
    assert len(environment_hash(one) or "") == 64
    assert environment_hash(None) is None
    assert environment_hash({**(one or {}), "tags": {"switchman.mode": "host"}}) is None
    assert environment_hash(one, mode="host") is None


def test_prune_keeps_what_is_in_use(tmp_path: Path) -> None:
    home = Home(tmp_path)
    for key in ("a" * 64, "b" * 64):
        (home.envs_dir / key).mkdir(parents=True)
        (home.envs_dir / key / ".complete").write_text("")
    (home.envs_dir / f".{'c' * 64}.tmp-{os.getpid()}").mkdir()  # a live build
    (home.envs_dir / f".{'d' * 64}.tmp-999999999").mkdir()  # a dead one
    (home.envs_dir / f"{'a' * 64}.lock").write_text("")
    assert prune(home, {"a" * 64}) == [f".{'d' * 64}.tmp-999999999", "b" * 64]
    assert sorted(p.name for p in home.envs_dir.iterdir()) == sorted(
        ["a" * 64, f"{'a' * 64}.lock", f".{'c' * 64}.tmp-{os.getpid()}"]
    )


def test_runtime_pythonpath_links_this_switchman(tmp_path: Path) -> None:
    import switchman

    home = Home(tmp_path)
    folder = runtime_pythonpath(home)
    assert (folder / "switchman").resolve() == Path(switchman.__file__).resolve().parent
    (folder / "switchman").unlink()
    (folder / "switchman").symlink_to(tmp_path)
    assert (runtime_pythonpath(home) / "switchman" / "__init__.py").exists()


@pytest.mark.parametrize(
    ("output", "package"),
    [
        (["error: No solution found when resolving dependencies",
          "  cause: Because there is no version of six==9.9 and you require six==9.9, we can conclude"], "six==9.9"),
        (["  ╰─▶ Because nopkg-xyz was not found in the package registry and you require nopkg-xyz==1.0"], "nopkg-xyz"),
        (["  \u00d7 Failed to build `numpy==1.21.0`", "  ├─▶ The build backend returned an error"], "numpy==1.21.0"),
        (["error: something else"], None),
    ],
)  # fmt: skip
def test_failing_package_from_uv_output(output: list[str], package: str | None) -> None:
    assert failing_package(output) == package
    message = build_failure_message(output)
    assert (package or "uv failed") in message
    assert "storage-initializer" in message
