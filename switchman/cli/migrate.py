"""`switchman migrate aci|aks`: upgrade an Azure ML v1 web service to an online endpoint.

Converts the v1 deployment config (or the service JSON `az ml service show` prints) and the
inference config into endpoint.yml, deployment.yml, a conda file and MIGRATION.md; with --apply it
also creates them on the running platform, with 100% traffic and the v1 keys.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from switchman.cli.main import add_common
from switchman.errors import SwitchmanError
from switchman.migrate import MigrationRequest, apply, convert, load_inputs, summary, write_outputs
from switchman.migrate.writer import REPORT_FILE, write_report

KINDS = {
    "aci": "Azure Container Instances (ACI)",
    "aks": "Azure Kubernetes Service (AKS)",
}


def register(sub: Any) -> None:
    migrate = sub.add_parser(
        "migrate", help="Upgrade an Azure ML v1 web service (ACI/AKS) to an online endpoint."
    )
    kinds = migrate.add_subparsers(dest="migrate_kind", metavar="KIND")
    for kind, what in KINDS.items():
        parser = kinds.add_parser(
            kind,
            help=f"Convert a v1 {what} web service.",
            description=(
                f"Convert a v1 {what} web service into endpoint.yml, deployment.yml, a conda file "
                "and MIGRATION.md (every v1 setting and what became of it). Nothing is created on "
                "the platform without --apply."
            ),
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--deployment-config",
            "--dc",
            metavar="FILE",
            help="The v1 deploymentconfig.json.",
        )
        source.add_argument(
            "--service-json",
            metavar="FILE",
            help="The v1 service as `az ml service show` / Webservice.serialize() prints it.",
        )
        parser.add_argument(
            "--inference-config",
            "--ic",
            required=True,
            metavar="FILE",
            help="The v1 inferenceconfig.json.",
        )
        parser.add_argument(
            "--model",
            "-m",
            metavar="PATH|NAME:VERSION",
            help="Model file/folder, or a registered model name:version (default: the service "
            "JSON's model).",
        )
        parser.add_argument(
            "--endpoint-name",
            "-e",
            metavar="NAME",
            help="Name of the new endpoint (default: the v1 service name from --service-json).",
        )
        parser.add_argument(
            "--deployment-name",
            "-d",
            default="blue",
            metavar="NAME",
            help="Deployment name (blue).",
        )
        parser.add_argument(
            "--output-dir", required=True, metavar="DIR", help="Folder for the generated files."
        )
        parser.add_argument(
            "--keys-file",
            metavar="FILE",
            help="JSON with the v1 keys (`az ml service get-keys` output) to keep them.",
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Also create the endpoint and deployment (100%% traffic, v1 keys kept).",
        )
        add_common(parser)
        parser.set_defaults(func=cmd_migrate, migrate=kind)
    migrate.set_defaults(func=lambda args: _usage(migrate))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def cmd_migrate(args: argparse.Namespace) -> dict[str, Any]:
    """Convert, write the files, and apply when asked; returns the JSON summary."""
    inputs = load_inputs(
        args.migrate,
        inference_config=args.inference_config,
        deployment_config=args.deployment_config,
        service_json=args.service_json,
        keys_file=args.keys_file,
    )
    output_dir = Path(args.output_dir).expanduser().resolve()
    migration = convert(
        MigrationRequest(
            inputs=inputs,
            endpoint_name=args.endpoint_name,
            deployment_name=args.deployment_name,
            model=args.model,
            output_dir=output_dir,
            cwd=Path.cwd(),
        )
    )
    client = None
    if args.apply:
        from switchman.client import Client  # only --apply needs the platform

        client = Client.from_home()  # fails here, before any file, when the platform is down
    files = write_outputs(migration)
    if client is None:
        return summary(migration, files, None)
    try:
        outcome = apply(migration, client, output_dir)
    finally:
        client.close()
    write_report(migration, files, outcome)
    if not outcome.succeeded:
        cleanup = "; ".join(outcome.cleanup) or "nothing had been created"
        raise SwitchmanError(
            f"--apply failed: {outcome.error} Clean-up: {cleanup}. The generated files are in "
            f"{output_dir} (see {REPORT_FILE})."
        )
    return summary(migration, files, outcome)
