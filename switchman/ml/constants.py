"""``switchman.ml.constants``: the names of azure-ai-ml's ``azure.ai.ml.constants``."""

from __future__ import annotations


class AssetTypes:
    URI_FILE = "uri_file"
    URI_FOLDER = "uri_folder"
    MLTABLE = "mltable"
    MLFLOW_MODEL = "mlflow_model"
    CUSTOM_MODEL = "custom_model"
    TRITON_MODEL = "triton_model"


class InputOutputModes:
    RO_MOUNT = "ro_mount"
    RW_MOUNT = "rw_mount"
    DOWNLOAD = "download"
    UPLOAD = "upload"
    DIRECT = "direct"
    EVAL_MOUNT = "eval_mount"
    EVAL_DOWNLOAD = "eval_download"


class BatchDeploymentOutputAction:
    APPEND_ROW = "append_row"
    SUMMARY_ONLY = "summary_only"


class BatchDeploymentType:
    MODEL = "model"
    PIPELINE = "pipeline"


class EndpointAuthMode:
    KEY = "key"
    AML_TOKEN = "aml_token"
    AAD_TOKEN = "aad_token"


class EndpointKeyType:
    PRIMARY_KEY_TYPE = "primary"
    SECONDARY_KEY_TYPE = "secondary"


class AzureMLResourceType:
    ONLINE_ENDPOINT = "online_endpoints"
    ONLINE_DEPLOYMENT = "online_deployments"
    BATCH_ENDPOINT = "batch_endpoints"
    BATCH_DEPLOYMENT = "batch_deployments"
    MODEL = "models"
    ENVIRONMENT = "environments"
    DATA = "data"
    COMPUTE = "computes"
    JOB = "jobs"


class JobStatus:
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
