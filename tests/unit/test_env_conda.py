"""Conda file → pip requirements: the mapping rules of docs/environments.md."""

from __future__ import annotations

import pytest

from switchman.environments.conda import from_conda, running_python
from switchman.environments.requirement import merge, name_of
from switchman.environments.runtime_requirements import RUNTIME_REQUIREMENTS
from switchman.errors import BadArgumentError


def test_pip_list_is_taken_as_is() -> None:
    pip = ["inference-schema[numpy-support]", "joblib>=1.2", "--extra-index-url https://x/simple"]
    result = from_conda({"dependencies": [{"pip": pip}]})
    assert result.packages == tuple(pip)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy", "numpy"),
        ("numpy=1.23", "numpy==1.23.*"),
        ("numpy=1.23.5", "numpy==1.23.5.*"),
        ("numpy==1.23.5", "numpy==1.23.5"),
        ("numpy==1.23.5=py39h_0", "numpy==1.23.5"),
        ("numpy=1.23.5=py39h_0", "numpy==1.23.5.*"),
        ("numpy 1.23.5 py39_0", "numpy==1.23.5.*"),
        ("numpy>=1.20,<2", "numpy>=1.20,<2"),
        ("numpy >= 1.20", "numpy>=1.20"),
        ("numpy=1.*", "numpy==1.*"),
        ("conda-forge::scipy=1.10", "scipy==1.10.*"),
        ("pytorch=2.1", "torch==2.1.*"),
        ("py-xgboost", "xgboost"),
        ("matplotlib-base>=3.5", "matplotlib>=3.5"),
        ("scikit-learn=1.2.2", "scikit-learn==1.2.2.*"),
    ],
)
def test_conda_specs_map_to_pep440(spec: str, expected: str) -> None:
    assert from_conda({"dependencies": [spec]}).packages == (expected,)


def test_renamed_packages_are_noted() -> None:
    notes = from_conda({"dependencies": ["pytorch"]}).notes
    assert any("pytorch is torch on PyPI" in n for n in notes)


def test_python_and_pip_are_not_packages() -> None:
    result = from_conda({"dependencies": [f"python={running_python()[:4]}", "pip=23.0.1", "six"]})
    assert result.packages == ("six",)
    assert not any("Python" in n for n in result.notes)


def test_other_python_is_noted() -> None:
    result = from_conda({"dependencies": ["python=3.6", "six"]})
    assert result.python == "3.6"
    assert any("Python 3.6" in n and running_python() in n for n in result.notes)


def test_conda_only_packages_are_dropped_by_name() -> None:
    result = from_conda(
        {"dependencies": ["mkl", "cudatoolkit=11.8", "libgcc-ng", "_openmp_mutex", "numpy"]}
    )
    assert result.packages == ("numpy",)
    note = next(n for n in result.notes if "conda-only" in n)
    for name in ("mkl", "cudatoolkit", "libgcc-ng", "_openmp_mutex"):
        assert name in note


def test_azureml_server_packages_are_provided_by_the_runtime() -> None:
    pip = ["azureml-defaults==1.50", "azureml-inference-server-http", "azureml_core", "joblib"]
    result = from_conda({"dependencies": [{"pip": pip}]})
    assert result.packages == ("joblib",)
    assert any("azureml-defaults==1.50" in n and "runtime provides" in n for n in result.notes)


@pytest.mark.parametrize(
    "deps",
    [{"dependencies": "numpy"}, {"dependencies": [{"pip": "joblib"}]}, {"dependencies": [["x"]]}],
)
def test_malformed_dependencies_are_bad_arguments(deps: dict[str, object]) -> None:
    with pytest.raises(BadArgumentError, match=r"dependencies|pip"):
        from_conda(deps)


def test_user_pins_replace_runtime_requirements() -> None:
    merged = merge(
        ["uvloop==0.19.0", "Inference_Schema[numpy-support]==1.8", "six"], RUNTIME_REQUIREMENTS
    )
    names = [name_of(line) for line in merged]
    assert merged[:3] == ["uvloop==0.19.0", "Inference_Schema[numpy-support]==1.8", "six"]
    assert names.count("uvloop") == 1 and names.count("inference-schema") == 1
    assert "httptools" in names


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("Foo_Bar.baz[x]>=1; python_version>'3'", "foo-bar-baz"),
        ("pkg @ https://x/pkg.whl", "pkg"),
        ("--extra-index-url https://x", None),
        ("# comment", None),
    ],
)
def test_requirement_names(line: str, name: str | None) -> None:
    assert name_of(line) == name
