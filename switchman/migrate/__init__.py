"""Azure ML v1 web services (ACI/AKS) → Switchman online endpoints (`switchman migrate`).

load_inputs  read the v1 JSON files (errors name file, line, column)
convert      v1 settings → endpoint/deployment specs + the ledger of every setting (pure)
write_outputs  endpoint.yml, deployment.yml, conda.yaml, MIGRATION.md
apply        create them on a running platform, all or nothing
"""

from switchman.migrate.applier import PlatformClient, apply
from switchman.migrate.converter import Migration, MigrationRequest, convert
from switchman.migrate.report import ApplyOutcome, render, summary
from switchman.migrate.sizing import pick_instance_type
from switchman.migrate.source import V1Inputs, load_inputs
from switchman.migrate.writer import write_outputs

__all__ = [
    "ApplyOutcome",
    "Migration",
    "MigrationRequest",
    "PlatformClient",
    "V1Inputs",
    "apply",
    "convert",
    "load_inputs",
    "pick_instance_type",
    "render",
    "summary",
    "write_outputs",
]
