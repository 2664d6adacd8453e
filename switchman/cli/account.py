"""`switchman account get-access-token`: a bearer token for batch scoring URIs (`az account`)."""

from __future__ import annotations

import argparse
from typing import Any

from switchman.cli.common import client, verb_factory


def register(sub: Any) -> None:
    group = sub.add_parser("account", help="Tokens for batch endpoints' scoring URIs.")
    leaf = verb_factory(group)
    token = leaf("get-access-token", cmd_token, "Print an access token (accessToken, expiresOn).")
    token.add_argument("--resource", help="Accepted for az compatibility (https://ml.azure.com).")
    token.add_argument("--resource-type", help=argparse.SUPPRESS)
    token.add_argument("--scope", help=argparse.SUPPRESS)


def cmd_token(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("POST", "/account/access-token")
