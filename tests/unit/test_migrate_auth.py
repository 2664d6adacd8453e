"""Auth conversion: no auth, key auth with/without keys, keys file, AKS defaults, token auth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchman.errors import SpecFileError
from tests.support.migrate import V1_PRIMARY, V1_SECONDARY, migrate, outcome, write_v1


def test_aci_without_auth_becomes_key_auth_with_new_keys(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI"}))
    assert m.auth.auth_mode == "key" and not m.auth.keeps_keys
    assert m.endpoint["auth_mode"] == "key"
    assert outcome(m, "authEnabled")[0] == "defaulted"
    assert any("no auth" in w and "Authorization: Bearer" in w for w in m.warnings)


def test_aci_auth_disabled_explicitly_drops_keys(tmp_path: Path) -> None:
    dc = {"computeType": "ACI", "authEnabled": False, "keys": {"primaryKey": V1_PRIMARY}}
    m = migrate(write_v1(tmp_path, dc))
    assert m.auth.auth_mode == "key" and m.auth.primary_key is None
    assert outcome(m, "authEnabled")[0] == "mapped"
    assert outcome(m, "keys.primaryKey")[0] == "dropped"


def test_aci_auth_with_keys_keeps_both_keys(tmp_path: Path) -> None:
    dc = {
        "computeType": "ACI",
        "authEnabled": True,
        "keys": {"primaryKey": V1_PRIMARY, "secondaryKey": V1_SECONDARY},
    }
    m = migrate(write_v1(tmp_path, dc))
    assert (m.auth.auth_mode, m.auth.primary_key, m.auth.secondary_key) == (
        "key",
        V1_PRIMARY,
        V1_SECONDARY,
    )
    assert outcome(m, "keys.primaryKey")[0] == "mapped"
    assert outcome(m, "keys.secondaryKey")[0] == "mapped"
    # The keys never appear in the files the command writes.
    assert V1_PRIMARY not in json.dumps([m.endpoint, m.deployment])
    assert all(V1_PRIMARY not in e.value for e in m.ledger.entries)


def test_top_level_primary_key_is_accepted(tmp_path: Path) -> None:
    dc = {"computeType": "ACI", "authEnabled": True, "primaryKey": V1_PRIMARY}
    m = migrate(write_v1(tmp_path, dc))
    assert m.auth.primary_key == V1_PRIMARY and m.auth.secondary_key is None
    assert any("Only the primary" in w for w in m.warnings)


def test_auth_without_keys_warns_how_to_keep_them(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", "authEnabled": True}))
    assert m.auth.auth_mode == "key" and not m.auth.keeps_keys
    assert any("--keys-file" in w for w in m.warnings)


def test_keys_file_gives_the_keys(tmp_path: Path) -> None:
    folder = write_v1(tmp_path, {"computeType": "ACI", "authEnabled": True})
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"primaryKey": V1_PRIMARY, "secondaryKey": V1_SECONDARY}))
    m = migrate(folder, keys_file=keys)
    assert (m.auth.primary_key, m.auth.secondary_key) == (V1_PRIMARY, V1_SECONDARY)
    assert [e.outcome for e in m.ledger.entries if e.source == "keys.json"] == ["mapped", "mapped"]


def test_keys_file_without_keys_is_an_error(tmp_path: Path) -> None:
    folder = write_v1(tmp_path, {"computeType": "ACI", "authEnabled": True})
    keys = tmp_path / "keys.json"
    keys.write_text('{"something": 1}')
    with pytest.raises(SpecFileError, match="get-keys"):
        migrate(folder, keys_file=keys)


@pytest.mark.parametrize("bad", [12, "", "short", "has space in it"])
def test_bad_key_values_are_errors(tmp_path: Path, bad: object) -> None:
    dc = {"computeType": "ACI", "authEnabled": True, "keys": {"primaryKey": bad}}
    with pytest.raises(SpecFileError, match=r"keys\.primaryKey"):
        migrate(write_v1(tmp_path, dc))


def test_aks_auth_defaults_to_key_auth(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "AKS", "numReplicas": 1}), "aks")
    assert m.auth.auth_mode == "key"
    kind, _, reason = outcome(m, "authEnabled")
    assert kind == "defaulted" and "AKS default" in reason
    assert not any("no auth" in w for w in m.warnings)


@pytest.mark.parametrize("flag", ["tokenAuthEnabled", "aadAuthEnabled"])
def test_aks_token_auth_becomes_aml_token(tmp_path: Path, flag: str) -> None:
    dc = {
        "computeType": "AKS",
        "authEnabled": False,
        flag: True,
        "keys": {"primaryKey": V1_PRIMARY},
    }
    m = migrate(write_v1(tmp_path, dc), "aks")
    assert m.auth.auth_mode == "aml_token" and not m.auth.keeps_keys
    assert m.endpoint["auth_mode"] == "aml_token"
    assert outcome(m, flag) == ("mapped", "auth_mode: aml_token", "")
    assert outcome(m, "keys.primaryKey")[0] == "dropped"
    assert any("get-credentials" in w for w in m.warnings)


def test_aks_token_auth_without_auth_enabled_key(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "AKS", "tokenAuthEnabled": True}), "aks")
    assert m.auth.auth_mode == "aml_token"


def test_aks_key_and_token_auth_together_is_an_error(tmp_path: Path) -> None:
    dc = {"computeType": "AKS", "authEnabled": True, "tokenAuthEnabled": True}
    with pytest.raises(SpecFileError, match="both true"):
        migrate(write_v1(tmp_path, dc), "aks")


def test_token_auth_is_not_an_aci_setting(tmp_path: Path) -> None:
    m = migrate(write_v1(tmp_path, {"computeType": "ACI", "tokenAuthEnabled": True}))
    assert m.auth.auth_mode == "key"
    kind, _, reason = outcome(m, "tokenAuthEnabled")
    assert kind == "dropped" and "not a v1 setting" in reason


def test_auth_enabled_must_be_boolean(tmp_path: Path) -> None:
    with pytest.raises(SpecFileError, match="authEnabled must be true or false"):
        migrate(write_v1(tmp_path, {"computeType": "ACI", "authEnabled": "yes"}))
