"""Fixture loading and validation."""
from __future__ import annotations

import copy
import json
import re

import pytest

from icr_emulator import DEFAULT_FIXTURE, Emulator, FixtureError, load_fixture
from icr_emulator.fixture import normalize_role

NAMED_KEYS = {"user-admin", "svc-writer", "svc-reader", "svc-nopolicy", "svc-deleted", "svc-locked", "svc-disabled",
              "svc-group-reader", "svc-other-account"}


def raw_default() -> dict:
    """The default fixture as plain JSON data."""
    with open(DEFAULT_FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def test_default_fixture_contents() -> None:
    fixture = load_fixture()
    keys = {k.name: k for k in fixture.apikeys}
    assert set(keys) == NAMED_KEYS
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{44}", k.value) for k in keys.values())
    assert keys["svc-deleted"].state == "deleted" and keys["svc-locked"].state == "locked"
    assert keys["svc-disabled"].state == "disabled"
    assert fixture.identities[keys["user-admin"].iam_id].email == "user-admin@example.com"
    assert fixture.accounts["a1"].id == "0399f7d0bbd61ecb2ec14cc4d51098bb"
    assert fixture.namespaces == {"team-a": fixture.accounts["a1"].id, "demo": fixture.accounts["a1"].id, "team-b": fixture.accounts["a2"].id}
    v1_policy = next(p for p in fixture.policies if p.id == "policy-user-admin-manager")
    assert v1_policy.roles == ("Manager",) and v1_policy.resource == "" and v1_policy.service_name == "container-registry"


def test_fixture_from_dict_and_path(tmp_path) -> None:
    data = raw_default()
    assert load_fixture(data).apikeys == load_fixture().apikeys
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    assert load_fixture(str(path)).source == str(path)
    with Emulator(fixture=data) as emu:
        assert emu.apikey("svc-reader") == next(k["value"] for k in data["apikeys"] if k["name"] == "svc-reader")
        with pytest.raises(KeyError):
            emu.apikey("nope")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["accounts"]["a1"].update(id="xyz"), "32 lowercase hex"),
    (lambda d: d["apikeys"][0].update(value="short"), "20-128 characters"),
    (lambda d: d["apikeys"][1].update(value=d["apikeys"][0]["value"]), "unique"),
    (lambda d: d["apikeys"][0].update(state="frozen"), "state must be"),
    (lambda d: d["apikeys"][0].update(iam_id="IBMid-nobody"), "unknown iam_id"),
    (lambda d: d["identities"][0].update(account="a9"), "unknown account"),
    (lambda d: d["policies"][1].update(roles=[]), "at least one role"),
    (lambda d: d["policies"][1].pop("subject"), "needs a subject"),
])
def test_fixture_validation(mutate, message: str) -> None:
    data = copy.deepcopy(raw_default())
    mutate(data)
    with pytest.raises(FixtureError, match=message):
        load_fixture(data)


def test_unreadable_fixture(tmp_path) -> None:
    with pytest.raises(FixtureError):
        load_fixture(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(FixtureError):
        load_fixture(str(bad))


@pytest.mark.parametrize("role, expected", [
    ("crn:v1:bluemix:public:container-registry::::serviceRole:Writer", "Writer"),
    ("crn:v1:bluemix:public:iam::::serviceRole:Reader", "Reader"),
    ({"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Manager"}, "Manager"),
    ("Reader", "Reader"),
    ("crn:v1:bluemix:public:iam::::role:Administrator", "platform:Administrator"),
])
def test_normalize_role(role, expected: str) -> None:
    assert normalize_role(role) == expected
