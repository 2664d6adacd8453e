"""`switchman job show|list|stream|cancel|download`: batch jobs (reference §4.6)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from switchman.cli.common import client, verb_factory
from switchman.errors import BadArgumentError, SwitchmanError

TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding")


def register(sub: Any) -> None:
    group = sub.add_parser("job", help="Show, follow, cancel and download batch jobs.")
    leaf = verb_factory(group)
    show = leaf("show", cmd_show, "Show a job.")
    show.add_argument("-n", "--name", required=True)
    show.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    lst = leaf("list", cmd_list, "List jobs.")
    lst.add_argument("-r", "--max-results", type=int, help="At most this many.")
    stream = leaf("stream", cmd_stream, "Follow a job's progress until it ends.")
    stream.add_argument("-n", "--name", required=True)
    cancel = leaf("cancel", cmd_cancel, "Cancel a job: its workers stop at once.")
    cancel.add_argument("-n", "--name", required=True)
    cancel.add_argument("--no-wait", action="store_true", help="Accepted for az compatibility.")
    download = leaf("download", cmd_download, "Download a job's outputs (and logs with --all).")
    download.add_argument("-n", "--name", required=True)
    download.add_argument("--output-name", help="The named output (score).")
    download.add_argument("--download-path", "-p", default=".", help="Folder to write into.")
    download.add_argument("--all", action="store_true", help="Outputs and the logs/ tree.")


def _path(name: str) -> str:
    return f"/jobs/{quote(name, safe='')}"


def cmd_show(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.get_job(args.name)


def cmd_list(args: argparse.Namespace) -> Any:
    with client() as c:
        jobs = list(c.batch("GET", "/jobs"))
    return jobs[: args.max_results] if args.max_results else jobs


def cmd_cancel(args: argparse.Namespace) -> Any:
    with client() as c:
        return c.batch("POST", _path(args.name) + "/cancel")


def progress_line(view: dict[str, Any]) -> str:
    p = view.get("progress", {})
    done, failed, total = (
        p.get("mini_batches_completed", 0),
        p.get("mini_batches_failed", 0),
        p.get("mini_batches_total", 0),
    )
    return (
        f"{view.get('status')}: mini-batches {done} done, {failed} failed, {total} total; "
        f"items {p.get('items_succeeded', 0)}/{p.get('items_total', 0)} "
        f"({p.get('items_per_second', 0.0)} items/s)"
    )


def cmd_stream(args: argparse.Namespace) -> Any:
    """Progress until the job ends: a bar on a terminal, one line per change in pipes."""
    out = sys.stdout
    with client() as c:
        view = c.get_job(args.name)
        print(f"RunId: {view['name']}", file=out, flush=True)
        print(f"Web View: {c.api_url}/api/jobs/{view['name']}", file=out, flush=True)
        if sys.stdout.isatty():
            view = _stream_bar(c, args.name)
        else:
            last = ""
            while True:
                line = progress_line(view)
                if line != last:
                    print(line, file=out, flush=True)
                    last = line
                if view.get("status") in TERMINAL:
                    break
                time.sleep(0.5)
                view = c.get_job(args.name)
    print(
        f"Execution Summary\n=================\nRunId: {view['name']}\nStatus: {view['status']}",
        file=out,
    )
    if view.get("status") == "Failed":
        error = view.get("error") or {}
        raise SwitchmanError(
            f"Job {view['name']} failed: {error.get('message', 'unknown reason')} Download its logs "
            f"with `switchman job download -n {view['name']} --all`.",
            code=str(error.get("code") or "UserError"),
        )
    return 0


def _stream_bar(c: Any, name: str) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task("mini-batches", total=None, detail="")
        while True:
            view: dict[str, Any] = c.get_job(name)
            p = view.get("progress", {})
            bar.update(
                task,
                total=p.get("mini_batches_total") or None,
                completed=p.get("mini_batches_completed", 0) + p.get("mini_batches_failed", 0),
                description=str(view.get("status")),
                detail=f"{p.get('mini_batches_failed', 0)} failed, {p.get('items_per_second', 0.0)} items/s",
            )
            if view.get("status") in TERMINAL:
                return view
            time.sleep(0.5)


def cmd_download(args: argparse.Namespace) -> Any:
    if not args.all and not args.output_name:
        raise BadArgumentError("Give --output-name score, or --all for the outputs and the logs.")
    params = {"all": "true" if args.all else "false", "output_name": args.output_name}
    with client() as c:
        answer = c.batch("GET", _path(args.name) + "/files", **params)
    root = Path(args.download_path)
    written = []
    for relative, text in sorted(answer["files"].items()):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(str(target))
    return None if args.output == "json" and not args.query else written
