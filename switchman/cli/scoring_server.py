"""``switchman scoring-server``: run one scoring script locally, as ``azmlinfsrv`` does.

    switchman scoring-server --entry_script score.py --model_dir ./model --port 5001

The azmlinfsrv flag spellings (``--entry_script``) and dashed ones (``--entry-script``) both work.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from switchman.cli.main import add_common
from switchman.errors import BadArgumentError
from switchman.runtime.settings import COMPAT_SERVER_VERSION, RuntimeSettings

DEFAULT_PORT = 5001


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scoring-server",
        help="Serve one scoring script on this machine, as the Azure ML inference server does.",
        description=(
            "Load a score.py (init() once, run() per request) and serve it over HTTP with the "
            "azmlinfsrv routes: GET / (health), GET|POST /score, GET /swagger.json."
        ),
    )
    parser.add_argument(
        "--entry_script",
        "--entry-script",
        dest="entry_script",
        required=True,
        help="The scoring script (a .py file with init() and run()).",
    )
    parser.add_argument(
        "--model_dir",
        "--model-dir",
        dest="model_dir",
        help="Folder given to the script as AZUREML_MODEL_DIR.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"Port to serve on (default {DEFAULT_PORT})."
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
    parser.add_argument(
        "--worker_count",
        "--worker-count",
        dest="worker_count",
        type=int,
        help="How many run() calls may run at once (WORKER_COUNT; default 1).",
    )
    add_common(parser)
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Set the azmlinfsrv environment from the flags, print the banner, serve until stopped."""
    from switchman.runtime.server import run_instance  # the server stack loads only when used

    script = os.path.realpath(args.entry_script)
    if not os.path.isfile(script):
        raise BadArgumentError(
            f"--entry_script {args.entry_script!r} is not a file; pass the path of your score.py."
        )
    if not 1 <= args.port <= 65535:
        raise BadArgumentError(f"--port {args.port} is out of range; use 1-65535.")
    if args.worker_count is not None and args.worker_count < 1:
        raise BadArgumentError(f"--worker_count {args.worker_count} must be 1 or more.")
    os.environ["AZUREML_ENTRY_SCRIPT"] = script
    os.environ.setdefault("AML_APP_ROOT", os.getcwd())
    os.environ["SERVER_PORT"] = str(args.port)
    if args.model_dir:
        model_dir = os.path.realpath(args.model_dir)
        if not os.path.isdir(model_dir):
            raise BadArgumentError(
                f"--model_dir {args.model_dir!r} is not a folder; pass the folder holding your model."
            )
        os.environ["AZUREML_MODEL_DIR"] = model_dir
    if args.worker_count is not None:
        os.environ["WORKER_COUNT"] = str(args.worker_count)
    settings = RuntimeSettings.from_env()
    _print_banner(settings, args.host, args.port)
    return run_instance(settings, args.host, args.port)


def _print_banner(settings: RuntimeSettings, host: str, port: int) -> None:
    out = sys.stdout
    if not settings.model_dir:
        out.write("The environment variable 'AZUREML_MODEL_DIR' has not been set.\n")
        out.write("Use the --model_dir command line argument to set it.\n")
    rows = [
        ("Entry Script Name", settings.entry_script),
        ("Model Directory", settings.model_dir or None),
        ("Config File", os.environ.get("AZUREML_CONFIG_FILE")),
        ("Worker Count", settings.worker_count),
        ("Worker Timeout (seconds)", os.environ.get("WORKER_TIMEOUT", "300")),
        ("Server Port", port),
        ("Health Port", port),
        ("Application Insights Enabled", "false"),
        ("Application Insights Key", None),
        ("Inferencing HTTP server version", settings.server_version_header),
        ("CORS for the specified origins", os.environ.get("AML_CORS_ORIGINS")),
        ("Create dedicated endpoint for health", None),
    ]
    out.write(
        f"\nAzure ML Inferencing HTTP server v{COMPAT_SERVER_VERSION} (Switchman runtime)\n\n"
    )
    out.write("\nServer Settings\n---------------\n")
    for label, value in rows:
        out.write(f"{label}: {value}\n")
    out.write("\n\nServer Routes\n---------------\n")
    out.write(f"Liveness Probe: GET   {host}:{port}/\n")
    out.write(f"Score:          POST  {host}:{port}/score\n\n")
    out.flush()
