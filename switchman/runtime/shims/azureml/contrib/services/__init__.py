"""Switchman shim of azureml.contrib.services (AMLRequest, AMLResponse, rawhttp)."""
