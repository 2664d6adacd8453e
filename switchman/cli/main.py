"""The `switchman` command: the `az ml` verbs and flags, same names, same YAML.

Each command module in COMMAND_MODULES exposes ``register(subparsers)`` and sets ``func`` on the
parsers it adds. A handler returns data (printed per ``-o``/``--query``), an ``int`` exit code, or
raises :class:`switchman.errors.SwitchmanError` (printed as one paragraph on stderr, exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from switchman.cli.output import FORMATS, emit
from switchman.errors import SwitchmanError

# Top-level command → the module that registers it. Only the module a command line needs is
# imported, so `switchman online-endpoint show` does not pay for pydantic models it never uses.
COMMANDS: dict[str, str] = {
    "up": "switchman.cli.platform",
    "down": "switchman.cli.platform",
    "status": "switchman.cli.platform",
    "online-endpoint": "switchman.cli.endpoint",
    "online-deployment": "switchman.cli.deployment",
    "model": "switchman.cli.asset",
    "environment": "switchman.cli.asset",
    "monitor": "switchman.cli.monitor",
    "migrate": "switchman.cli.migrate",
    "scoring-server": "switchman.cli.scoring_server",
    "version": "switchman.cli.version",
    "connection": "switchman.cli.connection",
    "batch-endpoint": "switchman.cli.batch",
    "batch-deployment": "switchman.cli.batch",
    "job": "switchman.cli.job",
    "compute": "switchman.cli.compute",
    "data": "switchman.cli.data",
    "account": "switchman.cli.account",
    "studio": "switchman.cli.studio",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def add_common(parser: argparse.ArgumentParser) -> None:
    """Flags every leaf command accepts, as `az` does."""
    parser.add_argument("-o", "--output", choices=FORMATS, default="json", help="Output format.")
    parser.add_argument("--query", help="JMESPath query applied to the output.")
    parser.add_argument("--debug", action="store_true", help="Show tracebacks on errors.")
    parser.add_argument("--verbose", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-show-errors", action="store_true", help=argparse.SUPPRESS)
    # Accepted for `az ml` scripts; a Switchman home has one workspace.
    for flag, short in (("--resource-group", "-g"), ("--workspace-name", "-w")):
        parser.add_argument(flag, short, help=argparse.SUPPRESS)
    parser.add_argument("--subscription", help=argparse.SUPPRESS)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one paragraph, exit 2, as argparse/az do
        self.print_usage(sys.stderr)
        sys.stderr.write(f"switchman: error: {message}\n")
        raise SystemExit(2)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="switchman",
        description="Managed online endpoints for ML models on your own machines.",
        allow_abbrev=True,
    )
    from switchman.cli import version

    parser.add_argument("--version", action="version", version=version.text())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    first = next((a for a in argv or () if not a.startswith("-")), None)
    if first is None and argv and "--version" in argv:
        return parser  # `switchman --version` needs no command module
    modules = (COMMANDS[first],) if first in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # an optional command module not present in this build
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result = func(args)
    except SwitchmanError as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        sys.stderr.write(f"ERROR: {exc.message}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except Exception as exc:  # a bug of ours: still one paragraph, the traceback only with --debug
        if getattr(args, "debug", False):
            traceback.print_exc()
        sys.stderr.write(
            f"ERROR: Switchman hit an internal error ({type(exc).__name__}: {exc}). "
            "Run the command again with --debug for the traceback, and report it.\n"
        )
        return 1
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    if result is not None:
        emit(result, getattr(args, "output", "json"), getattr(args, "query", None))
    return 0
