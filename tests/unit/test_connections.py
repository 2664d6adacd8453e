"""Connection YAML shapes, references, and the registry (real SQLite store, real vault)."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchman.controlplane.connections import (
    ConnectionRegistry,
    SecretsInjectionError,
    without_references,
)
from switchman.controlplane.secrets import Vault
from switchman.controlplane.store import Store
from switchman.errors import BadArgumentError, ConflictError, NotFoundError
from switchman.home import Home
from switchman.spec.connection import MASK, parse_connection, references, substitute


def test_api_key_shapes() -> None:
    top = parse_connection({"name": "oa", "type": "azure_open_ai", "api_key": "k-123"})
    nested = parse_connection(
        {"name": "oa", "type": "api_key", "credentials": {"type": "api_key", "key": "k-123"}}
    )
    assert top.secrets == nested.secrets == {"key": "k-123"}
    assert top.document["credentials"] == {"type": "api_key", "key": MASK}
    assert "k-123" not in str(top.document)


def test_custom_keys_and_username_password() -> None:
    custom = parse_connection(
        {
            "name": "c",
            "type": "custom",
            "target": "https://x",
            "credentials": {"type": "custom_keys", "keys": {"A": "1", "B": 2}},
        }
    )
    assert custom.secrets == {"A": "1", "B": "2"} and custom.document["target"] == "https://x"
    db = parse_connection(
        {
            "name": "db",
            "type": "azure_sql_db",
            "credentials": {"type": "username_password", "username": "u", "password": "p"},
        }
    )
    assert db.secrets == {"username": "u", "password": "p"}


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"name": "x", "type": "telepathy"}, "type 'telepathy' is not a connection type"),
        ({"name": "x", "type": "custom", "credentials": {"type": "magic"}}, "credentials.type"),
        (
            {"name": "x", "type": "custom", "credentials": {"type": "custom_keys"}},
            "credentials.keys",
        ),
        (
            {
                "name": "x",
                "type": "s3",
                "credentials": {"type": "username_password", "username": "u"},
            },
            "credentials.password is missing",
        ),
        ({"name": "bad name!", "type": "custom"}, "name"),
        ({"name": "x", "type": "custom", "colour": "red"}, "colour is not a connection field"),
    ],
)
def test_bad_documents_name_the_file_and_field(doc: dict[str, object], needle: str) -> None:
    with pytest.raises(BadArgumentError) as err:
        parse_connection(doc, "conn.yml")
    assert err.value.message.startswith("conn.yml: ") and needle in err.value.message


def test_references_and_substitution() -> None:
    value = "Bearer ${{azureml://connections/oa/credentials/key}} and ${{ azureml://connections/db/credentials/password }}"
    assert references(value) == [("oa", "key"), ("db", "password")]
    assert substitute(value, {("oa", "key"): "K", ("db", "password"): "P"}) == "Bearer K and P"
    assert references("plain") == []
    assert without_references({"A": value, "B": "b"}) == {"B": "b"}


def test_registry_seals_pins_resolves_masks_and_rotates(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.ensure()
    store = Store(home.db_path)
    reg = ConnectionRegistry(store, Vault(home))
    doc = {"name": "oa", "type": "api_key", "api_key": "sk-very-secret"}
    assert reg.put(parse_connection(doc))["version"] == 1
    variables = {"OPENAI_KEY": "${{azureml://connections/oa/credentials/key}}", "X": "1"}
    assert reg.pin(variables) == {"OPENAI_KEY": [["oa", "key", 1]]}
    assert reg.environment(variables) == {"OPENAI_KEY": "sk-very-secret"}
    assert reg.mask(variables, "got sk-very-secret!") == f"got {MASK}!"
    # rotation: a new version, so a deployment's template changes on update
    reg.put(parse_connection({**doc, "api_key": "sk-rotated-value"}))
    assert reg.pin(variables) == {"OPENAI_KEY": [["oa", "key", 2]]}
    assert reg.environment(variables) == {"OPENAI_KEY": "sk-rotated-value"}
    assert "sk-rotated-value" not in str(reg.all())
    store.close()
    assert b"sk-rotated-value" not in home.db_path.read_bytes()
    assert not any(
        b"sk-rotated-value" in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
    )


def test_missing_connection_or_key_and_delete_in_use(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.ensure()
    reg = ConnectionRegistry(Store(home.db_path), Vault(home))
    with pytest.raises(SecretsInjectionError) as err:
        reg.pin({"K": "${{azureml://connections/nope/credentials/key}}"})
    assert "environment_variables.K" in err.value.message and "'nope'" in err.value.message
    assert err.value.code == "SecretsInjectionError"
    reg.put(parse_connection({"name": "oa", "type": "api_key", "api_key": "sk-1234"}))
    with pytest.raises(SecretsInjectionError, match="has no such key"):
        reg.pin({"K": "${{azureml://connections/oa/credentials/password}}"})
    with pytest.raises(ConflictError):
        reg.delete("oa", ["ep/blue"])
    reg.delete("oa", [])
    with pytest.raises(NotFoundError):
        reg.show("oa")
