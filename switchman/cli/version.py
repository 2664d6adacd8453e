"""`switchman version` (as `az version`) and the `switchman --version` flag."""

from __future__ import annotations

import argparse
import platform
from typing import Any

from switchman import __version__


def text() -> str:
    """The one line `switchman --version` prints."""
    return f"switchman {__version__} (Python {platform.python_version()})"


def register(sub: Any) -> None:
    from switchman.cli.main import add_common

    parser = sub.add_parser("version", help="Show the versions of Switchman and its parts.")
    add_common(parser)
    parser.set_defaults(func=cmd_version)


def cmd_version(args: argparse.Namespace) -> Any:
    # The shape of `az version`: the tool, its core, and the `ml` command set it mirrors.
    return {
        "switchman": __version__,
        "switchman-core": __version__,
        "python": platform.python_version(),
        "extensions": {"ml": __version__},
    }
