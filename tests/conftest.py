"""Shared fixtures: trained example models and a running platform in a temporary home."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import Platform, running_platform

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "online"


@pytest.fixture(scope="session")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/online with both models trained (scikit-learn, no downloads)."""
    target = tmp_path_factory.mktemp("examples") / "online"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.pkl", "__pycache__"))
    subprocess.run(
        [sys.executable, str(target / "train.py"), str(target)], check=True, capture_output=True
    )
    return target


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One platform per test module (starting one costs about a second)."""
    home = tmp_path_factory.mktemp("home")
    with running_platform(home) as running:
        yield running
