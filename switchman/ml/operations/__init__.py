"""The operation groups of ``MLClient`` (``ml_client.online_endpoints``, ...)."""
