# The code cells of azureml-examples sdk/python/endpoints/online/managed/online-endpoints-simple-deployment.ipynb
# (MIT licence, Microsoft), unchanged except: the two import lines name switchman.ml instead of
# azure.ai.ml / azure.identity, and the "%pip install" cell is left out. Cells start at the "# %%" lines.

# %%
# import required libraries
from switchman.ml import MLClient
from switchman.ml.entities import (
    ManagedOnlineEndpoint,
    ManagedOnlineDeployment,
    Model,
    Environment,
    CodeConfiguration,
)
from switchman.ml import DefaultAzureCredential

# %%
# enter details of your AML workspace
subscription_id = "<SUBSCRIPTION_ID>"
resource_group = "<RESOURCE_GROUP>"
workspace = "<AML_WORKSPACE_NAME>"

# %%
# get a handle to the workspace
ml_client = MLClient(DefaultAzureCredential(), subscription_id, resource_group, workspace)

# %%
# Define an endpoint name
endpoint_name = "my-endpoint"

# Example way to define a random name
import datetime

endpoint_name = "endpt-" + datetime.datetime.now().strftime("%m%d%H%M%f")

# create an online endpoint
endpoint = ManagedOnlineEndpoint(
    name=endpoint_name,
    description="this is a sample online endpoint",
    auth_mode="key",
    tags={"foo": "bar"},
)

# %%
model = Model(path="../model-1/model/sklearn_regression_model.pkl")
env = Environment(
    conda_file="../model-1/environment/conda.yaml",
    image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest",
)

blue_deployment = ManagedOnlineDeployment(
    name="blue",
    endpoint_name=endpoint_name,
    model=model,
    environment=env,
    code_configuration=CodeConfiguration(
        code="../model-1/onlinescoring", scoring_script="score.py"
    ),
    instance_type="Standard_DS3_v2",
    instance_count=1,
)

# %%
ml_client.online_endpoints.begin_create_or_update(endpoint, local=True)

# %%
ml_client.online_deployments.begin_create_or_update(deployment=blue_deployment, local=True)

# %%
ml_client.online_endpoints.get(name=endpoint_name, local=True)

# %%
ml_client.online_deployments.get_logs(
    name="blue", endpoint_name=endpoint_name, local=True, lines=50
)

# %%
ml_client.online_endpoints.invoke(
    endpoint_name=endpoint_name,
    request_file="../model-1/sample-request.json",
    local=True,
)

# %%
ml_client.online_endpoints.begin_create_or_update(endpoint).result()

# %%
ml_client.online_deployments.begin_create_or_update(blue_deployment).result()

# %%
# blue deployment takes 100 traffic
endpoint.traffic = {"blue": 100}
ml_client.online_endpoints.begin_create_or_update(endpoint).result()

# %%
# test the blue deployment with some sample data
ml_client.online_endpoints.invoke(
    endpoint_name=endpoint_name,
    deployment_name="blue",
    request_file="../model-1/sample-request.json",
)

# %%
# Get the details for online endpoint
endpoint = ml_client.online_endpoints.get(name=endpoint_name)

# existing traffic details
print(endpoint.traffic)

# Get the scoring URI
print(endpoint.scoring_uri)

# %%
ml_client.online_deployments.get_logs(name="blue", endpoint_name=endpoint_name, lines=50)

# %%
ml_client.online_endpoints.begin_delete(name=endpoint_name)
