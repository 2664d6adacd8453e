"""prepare(): real `uv` builds from PyPI — isolation, cache reuse, one build at a time, failures.

Builds share one home per session (tests.support.env.shared_home) and use small packages.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest

from switchman.environments import EnvironmentBuildError, environment_hash, prepare, resolve
from switchman.environments.reference import read_conda_file
from switchman.home import Home
from tests.support.env import TESTDATA, pip_env, prepare_logged, probe, shared_home

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOST_IDNA = __import__("idna").__version__  # the platform's own idna (a dependency of httpx)
PINNED = "3.6"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return shared_home(tmp_path_factory)


def test_pinned_package_is_isolated_from_the_platform(home: Home) -> None:
    assert HOST_IDNA != PINNED
    environment = pip_env(f"idna=={PINNED}", conda=("python=3.11", "pip"))
    python, log = prepare_logged(environment, home)
    assert python.parent.parent == home.envs_dir / str(environment_hash(environment))
    assert "building environment" in log
    seen = probe(
        python,
        home,
        "import idna, sys, switchman.runtime, httptools, inference_schema; "
        "print(idna.__version__, sys.prefix == sys.base_prefix)",
    )
    assert seen == f"{PINNED} False"
    assert __import__("idna").__version__ == HOST_IDNA  # the platform is untouched


def test_second_prepare_is_a_cache_hit(home: Home) -> None:
    environment = pip_env(f"idna=={PINNED}")
    first, _ = prepare_logged(environment, home)
    marker = first.parent.parent / ".complete"
    before = marker.stat().st_mtime_ns
    started = time.monotonic()
    again, log = prepare_logged(environment, home)
    elapsed = time.monotonic() - started
    assert again == first
    assert "using cached environment" in log and "building" not in log
    assert marker.stat().st_mtime_ns == before
    assert elapsed < 1.0, f"a cached prepare took {elapsed:.2f}s"


def test_concurrent_prepares_build_once(home: Home) -> None:
    code = (
        "import sys; from pathlib import Path; from switchman.home import Home; "
        "from switchman.environments import prepare; "
        f"print('PYTHON', prepare({pip_env('idna==3.5')!r}, home=Home(Path({str(home.root)!r})), log=sys.stdout))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out
        outputs.append(out)
    assert sum("building environment" in out for out in outputs) == 1, outputs
    pythons = {line for out in outputs for line in out.splitlines() if line.startswith("PYTHON")}
    assert len(pythons) == 1
    assert not [p for p in home.envs_dir.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    ("pin", "named"),
    [("idna==999.0", "idna==999.0"), ("switchman-no-such-package-4242==1.0", "switchman-no-such-package-4242")],
)  # fmt: skip
def test_failed_build_is_image_build_failure_naming_the_package(
    home: Home, pin: str, named: str
) -> None:
    log = io.StringIO()
    with pytest.raises(EnvironmentBuildError) as caught:
        prepare(pip_env(pin), home=home, log=log)
    assert caught.value.code == "ImageBuildFailure"
    assert named in caught.value.message
    assert named in log.getvalue()  # uv's own words are in the storage-initializer log
    key = str(environment_hash(pip_env(pin)))
    assert not (home.envs_dir / key).exists()
    assert not [p for p in home.envs_dir.iterdir() if key in p.name and p.is_dir()]


def test_platform_python_when_it_satisfies_everything(home: Home) -> None:
    python, log = prepare_logged(pip_env(f"idna=={HOST_IDNA}", "httpx"), home)
    assert python == Path(sys.executable)
    assert "satisfies every requirement" in log


def test_host_mode_skips_the_build(home: Home) -> None:
    environment = pip_env("idna==999.0")
    assert prepare(environment, home=home, log=io.StringIO(), mode="host") == Path(sys.executable)
    tagged = {**environment, "tags": {"switchman.mode": "host"}}
    assert prepare(tagged, home=home, log=io.StringIO()) == Path(sys.executable)
    assert prepare(None, home=home, log=io.StringIO()) == Path(sys.executable)


def test_azureml_examples_online_sample_conda_file_builds(home: Home) -> None:
    """The quickstart sample's conda file (python 3.9, numpy/scikit-learn/scipy pins, azureml server)."""
    environment = resolve(
        {"conda_file": str(TESTDATA / "model-1-conda.yaml")}, lookup=lambda n, v: None
    )
    assert environment is not None
    assert environment["conda_file"] == read_conda_file(TESTDATA / "model-1-conda.yaml")
    python, log = prepare_logged(environment, home)
    assert "azureml-inference-server-http==1.4.0" in log and "runtime provides" in log
    assert "Python 3.9" in log
    seen = probe(
        python,
        home,
        "import sklearn, numpy, scipy, joblib, inference_schema.parameter_types.numpy_parameter_type, "
        "switchman.runtime; print(sklearn.__version__, numpy.__version__, scipy.__version__)",
    )
    assert seen == "1.2.2 1.23.5 1.10.1"
