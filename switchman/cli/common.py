"""Helpers shared by the command modules: the client, confirmation, progress, spec loading."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from switchman.client import Client
from switchman.errors import BadArgumentError


def client() -> Client:
    return Client.from_home()


def verb_factory(
    group: argparse.ArgumentParser,
) -> Callable[[str, Any, str], argparse.ArgumentParser]:
    """Returns ``leaf(verb, handler, help)``: one `az ml`-style verb of a command group, with the
    common flags and ``--local`` (accepted wherever `az ml` has it)."""
    from switchman.cli.main import add_common

    verbs = group.add_subparsers(dest="verb", metavar="VERB", parser_class=type(group))

    def leaf(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(name, help=help_text)
        add_common(parser)
        parser.add_argument("--local", action="store_true", help="Address a local endpoint.")
        parser.set_defaults(func=func)
        return parser

    return leaf


def add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="set_values",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="Override a field, e.g. --set instance_count=2 (repeatable).",
    )


def target_names(
    file: str | None, flags: dict[str, str | None], set_values: list[str]
) -> dict[str, str | None]:
    """The names a command addresses (``name``, ``endpoint_name``, ...), taken as the spec gets
    them: the file's value, replaced by the flag (``-n``/``-e``), replaced by ``--set key=value``.

    Every verb that takes ``--set`` must find its target through this, so that ``--set
    endpoint_name=X`` sends the request to endpoint X and not to the one the file names.
    """
    from switchman.spec.loader import apply_set, parse_set, read_yaml

    data = read_yaml(file)[0] if file else {}
    picked: dict[str, Any] = {key: data.get(key) for key in flags}
    picked.update({key: value for key, value in flags.items() if value is not None})
    top = [(keys, value) for keys, value in parse_set(set_values) if keys[0] in flags]
    if any(len(keys) > 1 for keys, _ in top):
        raise BadArgumentError(f"--set: {', '.join(flags)} are plain names, not mappings.")
    apply_set(picked, top)
    return {key: (str(value) if value not in (None, "") else None) for key, value in picked.items()}


def add_no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait", action="store_true", help="Return without waiting for the operation."
    )


def confirm(args: argparse.Namespace, question: str) -> None:
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise BadArgumentError(
            f"{question} Pass --yes (-y) to confirm when not running interactively."
        )
    answer = input(f"{question} (y/n): ").strip().lower()
    if answer not in ("y", "yes"):
        raise BadArgumentError("Cancelled.")


def editable(view: dict[str, Any]) -> dict[str, Any]:
    """A `show` view without its read-only keys: the base document for an update."""
    from switchman.spec.base import READ_ONLY_KEYS

    return {k: v for k, v in view.items() if k not in READ_ONLY_KEYS and k not in ("error",)}


def parse_pairs(text: str, flag: str) -> dict[str, int]:
    """Parse ``"blue=90 green=10"`` (spaces or commas) into a dict of percentages."""
    out: dict[str, int] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep or not name:
            raise BadArgumentError(
                f'{flag} expects name=percent pairs like "blue=90 green=10", got {part!r}.'
            )
        try:
            out[name] = int(value)
        except ValueError:
            raise BadArgumentError(
                f"{flag}: {value!r} for {name!r} is not an integer percentage."
            ) from None
    return out


@contextmanager
def progress(message: str) -> Iterator[Any]:
    """A spinner on a terminal; nothing in pipes. Yields a callable to update the text."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(message) as status:
        yield lambda text: status.update(f"{message} {text}")
