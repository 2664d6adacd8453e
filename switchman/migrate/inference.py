"""The v1 inference config (``inferenceconfig.json``) → code configuration, environment, variables.

Paths in the inference config resolve against the JSON file's folder; the entry script and conda
files resolve against ``sourceDirectory`` when it is given, as the v1 SDK joins them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from switchman.errors import SpecFileError
from switchman.migrate.ledger import Ledger

# The v1 SDK's default CPU base image (azureml-core 1.61 `DEFAULT_CPU_IMAGE`).
DEFAULT_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
CONDA_FILE = "conda.yaml"
# v1's serving stack: the v2 scoring server (here: Switchman's runtime) replaces it.
V1_SERVING_PACKAGE = re.compile(r"^azureml-defaults\b", re.IGNORECASE)

NOT_FOR_ONLINE = "not used by online endpoints (it configures training runs)"
NO_CONTAINERS = "Switchman runs instances as processes, not Docker containers, so container options do not apply"


@dataclass(frozen=True)
class CodePlan:
    """Where the scoring code lives.

    Attributes:
        code_dir: the folder that becomes ``code_configuration.code`` (absolute).
        scoring_script: the entry script relative to ``code_dir`` (forward slashes).
        copy_from: when set, the entry script is copied into ``code_dir`` inside the output folder
            (v1 without ``sourceDirectory`` shipped the script alone).
    """

    code_dir: Path
    scoring_script: str
    copy_from: Path | None = None


@dataclass
class EnvironmentPlan:
    """The environment to generate: an inline spec (conda file by name) and its conda document."""

    spec: dict[str, Any] | None = None
    conda: dict[str, Any] | None = None
    variables: dict[str, str] = field(default_factory=dict)


def _error(file: Path, message: str) -> SpecFileError:
    return SpecFileError(f"{file}: {message}")


def plan_code(inference: dict[str, Any], file: Path, out_dir: Path, ledger: Ledger) -> CodePlan:
    """Resolve ``entryScript`` and ``sourceDirectory`` (both must exist) into a code plan."""
    src = file.name
    folder = file.resolve().parent
    entry = inference.get("entryScript")
    if not isinstance(entry, str) or not entry.strip():
        raise _error(
            file,
            'entryScript is missing or empty; set it to the scoring script, e.g. "entryScript": "score.py".',
        )
    source_dir = inference.get("sourceDirectory")
    if source_dir is not None:
        if not isinstance(source_dir, str) or not source_dir.strip():
            raise _error(file, f"sourceDirectory must be a folder path, got {source_dir!r}.")
        code_dir = (folder / source_dir).resolve()
        if not code_dir.is_dir():
            raise _error(
                file,
                f"sourceDirectory {source_dir!r} resolves to {code_dir}, which is not a folder; "
                "paths are relative to the inference config's folder.",
            )
        script = (code_dir / entry).resolve()
        if not script.is_file():
            raise _error(
                file,
                f"entryScript {entry!r} does not exist: looked for {script} (relative to "
                "sourceDirectory). Fix the path or the sourceDirectory.",
            )
        if not script.is_relative_to(code_dir):
            raise _error(
                file,
                f"entryScript {entry!r} lies outside sourceDirectory {code_dir}; move it inside.",
            )
        scoring_script = script.relative_to(code_dir).as_posix()
        ledger.mapped(src, "sourceDirectory", "code_configuration.code")
        ledger.mapped(src, "entryScript", "code_configuration.scoring_script")
        return CodePlan(code_dir, scoring_script)
    script = (folder / entry).resolve()
    if not script.is_file():
        raise _error(
            file,
            f"entryScript {entry!r} does not exist: looked for {script} (relative to the inference "
            "config's folder). Fix the path.",
        )
    ledger.mapped(
        src,
        "entryScript",
        "code_configuration",
        "no sourceDirectory: v1 shipped the script alone, so it is copied into code/ in the output folder",
    )
    return CodePlan((out_dir / "code").resolve(), script.name, copy_from=script)


def _conda_document(value: Any, file: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error(
            file, f"{where} must be a conda environment mapping, got {type(value).__name__}."
        )
    deps = value.get("dependencies", [])
    if not isinstance(deps, list):
        raise _error(file, f"{where}.dependencies must be a list, got {type(deps).__name__}.")
    return value


def _without_serving_package(conda: dict[str, Any], ledger: Ledger) -> dict[str, Any]:
    """Drop ``azureml-defaults`` from the pip list; Switchman's runtime serves the script."""
    deps_out: list[Any] = []
    removed: list[str] = []
    for dep in conda.get("dependencies", []):
        if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            kept = [
                p for p in dep["pip"] if not (isinstance(p, str) and V1_SERVING_PACKAGE.match(p))
            ]
            removed += [p for p in dep["pip"] if p not in kept]
            deps_out.append({**dep, "pip": kept})
        else:
            deps_out.append(dep)
    if removed:
        ledger.warn(
            f"Removed {', '.join(removed)} from the conda file: it is v1's serving stack; Switchman's "
            "runtime serves score.py (on Azure ML v2 use azureml-inference-server-http instead)."
        )
    return {**conda, "dependencies": deps_out}


def _read_conda_file(name: Any, file: Path, base_dirs: list[Path], where: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise _error(file, f"{where} must be a file path, got {name!r}.")
    tried = [(base / name).resolve() for base in base_dirs]
    for path in tried:
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError) as exc:
                raise _error(
                    file, f"{where} {path} is not a readable conda YAML file: {exc}."
                ) from None
            return _conda_document(data, path, "the conda file")
    raise _error(
        file,
        f"{where} {name!r} does not exist (looked in {', '.join(str(p) for p in tried)}).",
    )


def _variables(value: Any, file: Path, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _error(file, f"{where} must be a mapping of names to values, got {value!r}.")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def plan_environment(
    inference: dict[str, Any],
    file: Path,
    ledger: Ledger,
    *,
    service_env: dict[str, Any] | None = None,
    service_source: str = "",
) -> EnvironmentPlan:
    """Turn the v1 environment into an inline environment spec, a conda document and variables.

    The inference config's ``environment`` wins; then its legacy keys (``condaFile``, ``baseImage``);
    then the service JSON's ``environmentDetails``. With none of them the deployment has no
    environment and runs with Switchman's own Python.
    """
    src = file.name
    folder = file.resolve().parent
    source_dir = inference.get("sourceDirectory")
    bases = (
        [folder / source_dir, folder] if isinstance(source_dir, str) and source_dir else [folder]
    )
    plan = EnvironmentPlan()
    legacy = [k for k in ("condaFile", "baseImage") if inference.get(k) is not None]

    env = inference.get("environment")
    if env is not None:
        if not isinstance(env, dict):
            raise _error(file, f"environment must be a v1 environment object, got {env!r}.")
        _convert_v1_environment(env, "environment", src, file, bases, ledger, plan)
        if service_env is not None:
            ledger.dropped(
                service_source,
                "environmentDetails",
                "the inference config's environment is used instead",
            )
    elif legacy:
        _convert_legacy(inference, src, file, bases, ledger, plan)
        if service_env is not None:
            ledger.dropped(
                service_source,
                "environmentDetails",
                "the inference config's condaFile/baseImage win",
            )
    elif service_env is not None:
        _convert_v1_environment(
            service_env, "environmentDetails", service_source, file, bases, ledger, plan
        )
    else:
        ledger.defaulted(
            "environment",
            None,
            "environment (none)",
            "no v1 environment given: the deployment runs with Switchman's own Python",
        )
    for key in ("runtime", "extraDockerfileSteps", "enableGpu", "baseImageRegistry", "cudaVersion"):
        if ledger.seen(src, key):
            reason = {
                "runtime": "online deployments run Python; the key has no v2 equivalent",
                "extraDockerfileSteps": NO_CONTAINERS,
                "enableGpu": "GPUs come with the instance_type; pick a GPU SKU if the model needs one",
                "baseImageRegistry": "registry credentials are not carried; " + NO_CONTAINERS,
                "cudaVersion": "CUDA comes with the environment image",
            }[key]
            ledger.dropped(src, key, reason, warn=key in ("extraDockerfileSteps", "enableGpu"))
    return plan


def _convert_legacy(
    inference: dict[str, Any],
    src: str,
    file: Path,
    bases: list[Path],
    ledger: Ledger,
    plan: EnvironmentPlan,
) -> None:
    image = inference.get("baseImage")
    if image is not None:
        ledger.mapped(src, "baseImage", "environment.image")
    else:
        ledger.defaulted("baseImage", DEFAULT_IMAGE, "environment.image", "v1's default CPU image")
    conda_name = inference.get("condaFile")
    if conda_name is not None:
        conda = _read_conda_file(conda_name, file, bases, "condaFile")
        plan.conda = _without_serving_package(conda, ledger)
        ledger.mapped(src, "condaFile", f"environment.conda_file ({CONDA_FILE})")
    plan.spec = _env_spec(str(image or DEFAULT_IMAGE), plan.conda is not None, None)


def _env_spec(image: str, has_conda: bool, description: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": image}
    if has_conda:
        spec["conda_file"] = CONDA_FILE
    if description:
        spec["description"] = description
    return spec


def _convert_v1_environment(
    env: dict[str, Any],
    prefix: str,
    src: str,
    file: Path,
    bases: list[Path],
    ledger: Ledger,
    plan: EnvironmentPlan,
) -> None:
    def key(name: str) -> str:
        return f"{prefix}.{name}"

    python = env.get("python") if isinstance(env.get("python"), dict) else {}
    docker = env.get("docker") if isinstance(env.get("docker"), dict) else {}
    assert isinstance(python, dict) and isinstance(docker, dict)

    name, version = env.get("name"), env.get("version")
    label = f"{name}:{version}" if name and version else (str(name) if name else None)
    for part in ("name", "version"):
        if env.get(part) is not None:
            ledger.mapped(
                src,
                key(part),
                "environment.description",
                "inline environments are anonymous; the v1 name is kept in the description",
            )

    user_managed = python.get("userManagedDependencies") is True
    if python.get("userManagedDependencies") is not None:
        ledger.mapped(
            src,
            key("python.userManagedDependencies"),
            "environment (no conda file)" if user_managed else "environment.conda_file",
            "v1 used the image's own Python as is; Switchman runs the script with its own Python "
            "(add a conda file to deployment.yml if the script needs more packages)"
            if user_managed
            else "v1 built a conda environment from the dependencies",
        )
    conda_inline = python.get("condaDependencies")
    conda_file = python.get("condaDependenciesFile")
    if user_managed:
        for part in ("condaDependencies", "condaDependenciesFile"):
            if python.get(part) is not None:
                ledger.dropped(
                    src, key(f"python.{part}"), "ignored by v1 too: userManagedDependencies is true"
                )
    elif conda_inline is not None:
        where = key("python.condaDependencies")
        plan.conda = _without_serving_package(_conda_document(conda_inline, file, where), ledger)
        ledger.mapped(src, where, f"environment.conda_file ({CONDA_FILE})")
        if conda_file is not None:
            ledger.dropped(
                src, key("python.condaDependenciesFile"), "condaDependencies is used instead"
            )
    elif conda_file is not None:
        where = key("python.condaDependenciesFile")
        plan.conda = _without_serving_package(
            _read_conda_file(conda_file, file, bases, where), ledger
        )
        ledger.mapped(src, where, f"environment.conda_file ({CONDA_FILE})")
    for part, reason in (
        ("interpreterPath", "Switchman chooses the interpreter (its own or a cached venv)"),
        (
            "baseCondaEnvironment",
            "no v2 equivalent; the conda file describes the whole environment",
        ),
    ):
        if python.get(part) is not None:
            ledger.dropped(src, key(f"python.{part}"), reason)

    image = docker.get("baseImage")
    if image is not None:
        ledger.mapped(src, key("docker.baseImage"), "environment.image")
    else:
        ledger.defaulted(
            key("docker.baseImage"), DEFAULT_IMAGE, "environment.image", "v1's default CPU image"
        )
    if docker.get("baseDockerfile") is not None:
        ledger.dropped(src, key("docker.baseDockerfile"), NO_CONTAINERS, warn=True)
    if ledger.seen(src, key("docker.baseImageRegistry")):
        ledger.dropped(src, key("docker.baseImageRegistry"), "registry credentials are not carried")
    for part in (
        "enabled",
        "arguments",
        "sharedVolumes",
        "shmSize",
        "gpuSupport",
        "platform",
        "buildContext",
    ):
        if ledger.seen(src, key(f"docker.{part}")):
            ledger.dropped(src, key(f"docker.{part}"), NO_CONTAINERS)

    variables = env.get("environmentVariables")
    if variables is not None:
        plan.variables = _variables(variables, file, key("environmentVariables"))
        ledger.mapped(src, key("environmentVariables"), "environment_variables")
    for part in (
        "spark",
        "databricks",
        "r",
        "inferencingStackVersion",
        "assetId",
        "environmentType",
    ):
        if ledger.seen(src, key(part)):
            ledger.dropped(
                src,
                key(part),
                NOT_FOR_ONLINE
                if part in ("spark", "databricks", "r")
                else "v1 bookkeeping with no v2 equivalent",
            )
    plan.spec = _env_spec(
        str(image or DEFAULT_IMAGE),
        plan.conda is not None,
        f"Converted from the v1 environment {label}" if label else None,
    )
