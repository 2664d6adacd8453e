"""Credentials as accepted no-ops: a notebook's ``DefaultAzureCredential()`` keeps working.

A Switchman platform is reached through ``SWITCHMAN_HOME`` (its ``server.json`` and admin token), so
a credential carries nothing; ``get_token`` answers a placeholder for code that asks for one.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class _NoOpCredential:
    """Accepts every argument azure-identity's credentials take, and ignores them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("switchman-local", int(time.time()) + 3600)

    def close(self) -> None:
        return None

    def __enter__(self) -> _NoOpCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class DefaultAzureCredential(_NoOpCredential):
    """azure.identity.DefaultAzureCredential: accepted, not used."""


class AzureCliCredential(_NoOpCredential):
    """azure.identity.AzureCliCredential: accepted, not used."""


class InteractiveBrowserCredential(_NoOpCredential):
    """azure.identity.InteractiveBrowserCredential: accepted, not used."""


class ManagedIdentityCredential(_NoOpCredential):
    """azure.identity.ManagedIdentityCredential: accepted, not used."""


class ClientSecretCredential(_NoOpCredential):
    """azure.identity.ClientSecretCredential: accepted, not used."""
