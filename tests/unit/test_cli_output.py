"""Output formatting: `-o json|yaml|table|tsv|none` and `--query`, as `az` prints them."""

from __future__ import annotations

import io

import pytest

from switchman.cli.main import build_parser
from switchman.cli.output import emit
from switchman.errors import BadArgumentError

DATA = [
    {"name": "blue", "traffic": 90, "tags": {"a": "b"}},
    {"name": "green", "traffic": 10, "tags": {}},
]


def out(fmt: str, query: str | None = None) -> str:
    stream = io.StringIO()
    emit(DATA, fmt, query, stream)
    return stream.getvalue()


def test_formats() -> None:
    assert '"name": "blue"' in out("json")
    assert "- name: blue" in out("yaml")
    table = out("table").splitlines()
    assert table[0].split() == ["name", "traffic"]  # scalar columns only
    assert table[2].split() == ["blue", "90"]
    assert out("tsv").splitlines() == ["blue\t90", "green\t10"]
    assert out("none") == ""
    assert out("jsonc") == out("json")


def test_query_is_jmespath() -> None:
    assert out("tsv", "[?traffic > `50`].name") == "blue\n"
    with pytest.raises(BadArgumentError, match="JMESPath"):
        out("json", "[?")


def test_option_prefixes_and_yes_flag_as_az_accepts_them() -> None:
    parser = build_parser(["online-deployment"])
    args = parser.parse_args(
        ["online-deployment", "delete", "--name", "blue", "--endpoint", "ep", "-y"]
    )
    assert (args.name, args.endpoint_name, args.yes) == ("blue", "ep", True)
    args = parser.parse_args(["online-deployment", "create", "-f", "x.yml", "--no-wait", "--local"])
    assert args.no_wait and args.local
