"""MLflow models as assets: MLmodel checks, the environment from the model, relaxed pins, the
deployment rules (issue 11). Pure logic on files in tmp_path; no mlflow import."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from switchman.controlplane.mlflow_deployment import mlflow_environment
from switchman.environments.builder import EnvironmentBuildError, build_failure_message
from switchman.environments.cache import environment_hash, relax_pins, requirements_of
from switchman.environments.mlflow_model import ONLY_BINARY, model_environment, relax_requested
from switchman.environments.relax import (
    build_relaxed,
    compile_inputs,
    compiled_version,
    exact_pin,
    find_pin,
    replace_pin,
)
from switchman.errors import BadArgumentError
from switchman.spec.mlmodel import read_mlmodel

SIGNATURE = {
    "inputs": json.dumps([{"type": "double", "name": "age", "required": True}]),
    "outputs": json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]),
    "params": None,
}


def mlmodel(folder: Path, text: str | None = None, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if text is None:
        import yaml

        text = yaml.safe_dump(
            {
                "flavors": {
                    "python_function": {"loader_module": "mlflow.sklearn", "model_path": "m.pkl"},
                    "sklearn": {"pickled_model": "m.pkl"},
                },
                "mlflow_version": "3.1.0",
                "signature": SIGNATURE,
                "saved_input_example_info": {
                    "artifact_path": "input_example.json",
                    "type": "dataframe",
                },
            }
        )
        files.setdefault("input_example.json", json.dumps({"columns": ["age"], "data": [[1.0]]}))
    (folder / "MLmodel").write_text(text)
    for name, content in files.items():
        (folder / name).write_text(content)
    return folder


def test_reads_flavors_signature_and_example(tmp_path: Path) -> None:
    info = read_mlmodel(mlmodel(tmp_path / "model"))
    assert info.loader_module == "mlflow.sklearn"
    assert set(info.flavors) == {"python_function", "sklearn"}
    assert info.signature is not None
    assert info.signature["inputs"] == [{"type": "double", "name": "age", "required": True}]
    summary = info.summary()
    assert summary["input_example"]["path"] == "input_example.json"
    assert summary["mlflow_version"] == "3.1.0"
    # The MLmodel file itself names the same folder.
    assert read_mlmodel(tmp_path / "model" / "MLmodel").loader_module == "mlflow.sklearn"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flavors: [unclosed\n", "not valid YAML at line"),
        ("- a list\n", "must be a YAML mapping"),
        ("mlflow_version: 1\n", "no `flavors:` mapping"),
        ("flavors:\n  sklearn:\n    pickled_model: m.pkl\n", "no `python_function` flavor"),
        ("flavors:\n  python_function:\n    model_path: m.pkl\n", "loader_module` is missing"),
        (
            "flavors:\n  python_function:\n    loader_module: x\nsignature:\n  inputs: '[not json'\n",
            "`signature.inputs`",
        ),
        (
            "flavors:\n  python_function:\n    loader_module: x\n"
            "saved_input_example_info:\n  artifact_path: gone.json\n",
            "gone.json",
        ),
    ],
)
def test_bad_mlmodel_files_name_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    folder = mlmodel(tmp_path / "m", text)
    with pytest.raises(BadArgumentError) as err:
        read_mlmodel(folder)
    assert expected in err.value.message
    assert str(folder) in err.value.message
    assert "\n" not in err.value.message


def test_folder_without_mlmodel_points_at_the_nested_one(tmp_path: Path) -> None:
    mlmodel(tmp_path / "artifacts" / "model")
    (tmp_path / "artifacts" / "notes.txt").write_text("x")
    with pytest.raises(BadArgumentError) as err:
        read_mlmodel(tmp_path / "artifacts")
    assert "has no MLmodel file" in err.value.message
    assert str(tmp_path / "artifacts" / "model") in err.value.message
    with pytest.raises(BadArgumentError, match="does not exist"):
        read_mlmodel(tmp_path / "missing")


def test_environment_from_conda_yaml_uses_skinny_and_wheels(tmp_path: Path) -> None:
    conda = (
        "channels: [conda-forge]\ndependencies:\n- python=3.8.10\n- pip<=23.2.1\n- pip:\n"
        "  - mlflow==2.9.2\n  - scikit-learn==1.3.0\n  - cloudpickle==2.2.1\nname: mlflow-env\n"
    )
    env = model_environment(mlmodel(tmp_path / "m", **{"conda.yaml": conda}))
    pip = env["conda_file"]["dependencies"][-1]["pip"]
    assert pip[0] == ONLY_BINARY
    assert "mlflow-skinny==2.9.2" in pip and "mlflow==2.9.2" not in pip
    assert "scikit-learn==1.3.0" in pip and "pandas" in pip
    requirements = requirements_of(env)
    assert any("Python 3.8.10" in note for note in requirements.notes)
    assert not relax_pins(env)


def test_environment_from_python_env_and_requirements(tmp_path: Path) -> None:
    folder = mlmodel(
        tmp_path / "m",
        **{
            "python_env.yaml": "python: 3.11.7\ndependencies:\n- -r requirements.txt\n",
            "requirements.txt": "mlflow-skinny==3.1.0\npandas==2.2.0\n",
        },
    )
    pip = model_environment(folder, extras=("pyarrow",))["conda_file"]["dependencies"][-1]["pip"]
    assert pip == [ONLY_BINARY, "mlflow-skinny==3.1.0", "pandas==2.2.0", "pyarrow"]
    only_req = mlmodel(tmp_path / "r", **{"requirements.txt": "mlflow[extras]>=2\n"})
    pip = model_environment(only_req)["conda_file"]["dependencies"][-1]["pip"]
    assert pip == [ONLY_BINARY, "mlflow-skinny>=2", "pandas"]


def test_relax_is_a_tag_and_part_of_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = mlmodel(tmp_path / "m", **{"requirements.txt": "numpy==1.21.6\n"})
    strict, relaxed = model_environment(folder), model_environment(folder, relax=True)
    assert relax_pins(relaxed) and not relax_pins(strict)
    assert environment_hash(strict) != environment_hash(relaxed)
    monkeypatch.delenv("SWITCHMAN_RELAX_PINS", raising=False)
    assert not relax_requested({})
    assert relax_requested({"SWITCHMAN_RELAX_PINS": "1"})
    monkeypatch.setenv("SWITCHMAN_RELAX_PINS", "true")
    assert relax_requested({}) and not relax_requested({"SWITCHMAN_RELAX_PINS": "0"})


def test_scoring_script_without_environment_is_refused(tmp_path: Path) -> None:
    model = {"name": "m", "version": "1", "asset": str(tmp_path), "leaf": "model"}
    with pytest.raises(BadArgumentError) as err:
        mlflow_environment("blue", model, code={"asset": "x"}, environment=None, variables={})
    assert "needs an environment" in err.value.message and "'blue'" in err.value.message
    own = {"name": "mine", "conda_file": {"dependencies": []}}
    assert (
        mlflow_environment("blue", model, code={"asset": "x"}, environment=own, variables={}) is own
    )
    mlmodel(tmp_path / "model", **{"requirements.txt": "pandas\n"})
    made = mlflow_environment("blue", model, code=None, environment=None, variables={})
    assert made is not None and made["name"] == "mlflow-model-environment"


def test_pins_parse_and_replace() -> None:
    assert exact_pin("numpy==1.21.6") == ("numpy", "1.21.6")
    assert exact_pin("Scikit_Learn == 0.24.2 ; python_version < '3.12'") == (
        "scikit-learn",
        "0.24.2",
    )
    assert exact_pin("numpy>=1.2") is None and exact_pin("--only-binary :all:") is None
    lines = [ONLY_BINARY, "pandas==2.2.0", "numpy==1.21.6", "rich"]
    assert find_pin(lines, "numpy==1.21.6") == (2, "numpy", "1.21.6")
    assert find_pin(lines, "rich") is None and find_pin(lines, None) is None
    assert replace_pin(lines, 2, "numpy", "2.0.2")[2] == "numpy==2.0.2"
    assert compile_inputs(lines, 2, "numpy", "1.21.6", above=True) == [
        ONLY_BINARY, "numpy>=1.21.6", "pandas==2.2.0",
    ]  # fmt: skip
    assert compile_inputs(lines, 2, "numpy", "1.21.6", above=False)[1] == "numpy<1.21.6"
    out = "numpy==2.0.2\n    # via pandas\npandas==2.2.0\n"
    assert compiled_version(out, "numpy") == "2.0.2" and compiled_version(out, "six") is None


def _failure(package: str) -> EnvironmentBuildError:
    error = EnvironmentBuildError(
        f"Environment build failed: the package {package} could not be installed"
    )
    error.package = package
    return error


def test_build_relaxed_replaces_each_blamed_pin_and_warns() -> None:
    attempts: list[list[str]] = []

    def build(lines: list[str]) -> None:
        attempts.append(lines)
        for bad in ("numpy==1.21.6", "scipy==1.5.0"):
            if bad in lines:
                raise _failure(bad)

    nearest = {"numpy": "2.0.2", "scipy": "1.9.3"}
    log = io.StringIO()
    lines = ["numpy==1.21.6", "scipy==1.5.0", "rich"]
    built = build_relaxed(lines, build, log=log, nearest=lambda ls, name, v: nearest[name])
    assert built == ["numpy==2.0.2", "scipy==1.9.3", "rich"]
    assert len(attempts) == 3
    text = log.getvalue()
    assert "numpy==1.21.6 cannot be installed" in text and "numpy==2.0.2" in text
    assert "WARNING" in text


def test_build_relaxed_gives_up_with_the_story() -> None:
    def build(lines: list[str]) -> None:
        raise _failure("numpy==1.21.6")

    with pytest.raises(EnvironmentBuildError) as err:
        build_relaxed(["numpy==1.21.6"], build, log=io.StringIO(), nearest=lambda *a: None)
    assert "no installable version of numpy" in err.value.message

    def unexplained(lines: list[str]) -> None:
        error = EnvironmentBuildError("uv failed")
        raise error

    with pytest.raises(EnvironmentBuildError, match="uv failed"):
        build_relaxed(["numpy==1.0"], unexplained, log=io.StringIO(), nearest=lambda *a: "2")


def test_build_failure_names_package_pin_and_interpreter() -> None:
    output = [
        "  × No solution found when resolving dependencies:",
        "  ╰─▶ Because numpy==1.21.6 has no usable wheels and you require numpy==1.21.6, we can "
        "conclude that your requirements are unsatisfiable.",
    ]
    message = build_failure_message(output)
    import sys

    assert "numpy==1.21.6" in message
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in message
    assert "SWITCHMAN_RELAX_PINS=1" in message


def test_cli_router_and_control_plane_never_import_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys, switchman.cli.main, switchman.cli.asset, switchman.controlplane.api_assets, "
        "switchman.controlplane.service, switchman.controlplane.mlflow_deployment, "
        "switchman.environments.mlflow_model, switchman.spec.mlmodel, switchman.dataplane.service, "
        "switchman.runtime.server; "
        "print(sorted(m for m in ('mlflow', 'pandas', 'numpy', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_conflicting_pin_is_the_one_blamed() -> None:
    from switchman.environments.builder import failing_package

    output = [
        "error: No solution found when resolving dependencies",
        "  cause: Because pandas>=3.1.1 depends on numpy>=2.0.2 and you require pandas==3.1.1, we "
        "can conclude that you require numpy>=2.0.2.",
        "         And because you require numpy==1.21.6, we can conclude that your requirements "
        "are unsatisfiable.",
    ]
    assert failing_package(output) == "numpy==1.21.6"
