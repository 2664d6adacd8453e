"""`switchman studio`: print a one-time sign-in URL for the web UI (and open it on a desktop);
`switchman monitor cost`: cost per endpoint and deployment (issue #15)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from switchman.cli.main import add_common
from switchman.client import Client

COST_COLUMNS = (
    "endpoint",
    "deployment",
    "instance_type",
    "price_per_hour",
    "instance_hours_today",
    "cost_today",
    "cost_7d",
    "cost_30d",
)


def register(sub: Any) -> None:
    studio = sub.add_parser(
        "studio", help="Print a sign-in URL for the studio web UI (opens it where a desktop is)."
    )
    studio.add_argument(
        "--no-browser", action="store_true", help="Only print the URL; never open a browser."
    )
    add_common(studio)
    studio.set_defaults(func=cmd_studio, output=None)  # -o json gives the object instead


def register_monitor(sub: Any) -> None:
    """`switchman monitor cost`, added to the `monitor` group."""
    cost = sub.add_parser(
        "cost",
        help="Cost per endpoint and deployment: today, 7 and 30 days (instance-hours × price).",
    )
    cost.add_argument("-e", "--endpoint-name", help="Only this endpoint.")
    add_common(cost)
    cost.set_defaults(func=cmd_cost)


def has_desktop() -> bool:
    """A browser can be shown: macOS and Windows always, elsewhere with an X11/Wayland display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_studio(args: argparse.Namespace) -> Any:
    with Client.from_home() as c:
        link = c.request("POST", "/api/studio/sign-in-tokens")
    opened = False
    if not args.no_browser and has_desktop():
        import webbrowser

        opened = webbrowser.open(link["url"], new=2)
    if args.output is None:
        # Plain by default: the URL alone on stdout, so `xdg-open "$(switchman studio)"` works.
        print(link["url"])
        sys.stderr.write(
            ("Opened it in your browser. " if opened else "")
            + f"The link signs in once, within {link['expires_in_s'] // 60} minutes.\n"
        )
        return 0
    return {**link, "opened_browser": opened}


def cmd_cost(args: argparse.Namespace) -> Any:
    """One row per deployment; the same figures as the studio's Cost page."""
    with Client.from_home() as c:
        report = c.request("GET", "/api/monitor/cost")
    rows = [
        {k: row.get(k) for k in COST_COLUMNS}
        for row in report["deployments"]
        if not args.endpoint_name or row["endpoint"] == args.endpoint_name
    ]
    return rows
