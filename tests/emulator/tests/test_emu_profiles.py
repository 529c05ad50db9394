"""Trusted profiles: fixture rules, the cr-token and assume grants, cr token rotation, the profile-id registry login."""
from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
import requests
from emu_helpers import APIKEY_GRANT, apikey_login, iam_token, jwt_parts, realm_token, verify_access

from icr_emulator import Emulator
from icr_emulator.fixture import DEFAULT_FIXTURE, FixtureError, load_fixture

CR_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"
READER = "Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77"
NOPOLICY = "Profile-3028434f-f369-427d-8c4d-edf5c75ee2c2"
A1 = "0399f7d0bbd61ecb2ec14cc4d51098bb"
READER_CRN = f"crn:v1:bluemix:public:iam-identity::a/{A1}::profile:{READER}"
PULL = "repository:team-a/app:pull"


def assert_iam_error(resp: requests.Response, status: int, code: str) -> dict[str, Any]:
    """IBM's IAM error body with that status and code."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["errorCode"] == code and body["errorMessage"] and body["context"]["requestType"] == "incoming.Identity_Token"
    return body


def access_claim(resp: requests.Response) -> list[dict[str, Any]]:
    """The `access` claim of a registry token answer."""
    assert resp.status_code == 200, resp.text
    return jwt_parts(resp.json()["token"])[1]["access"]


def pull_only(name: str = "team-a/app") -> list[dict[str, Any]]:
    """The access claim of a pull-only grant."""
    return [{"type": "repository", "name": name, "actions": ["pull"]}]


def cr_login(emu: Emulator, **form: str) -> requests.Response:
    """The cr-token grant."""
    return iam_token(emu, {"grant_type": CR_GRANT, **form})


def assume(emu: Emulator, **form: str) -> requests.Response:
    """The assume grant."""
    return iam_token(emu, {"grant_type": ASSUME_GRANT, **form})


# --- fixture ---------------------------------------------------------------------------------------------

def default_data() -> dict[str, Any]:
    with open(DEFAULT_FIXTURE, encoding="utf-8") as handle:
        return json.load(handle)


def test_default_fixture_profiles_instances_resources() -> None:
    fixture = load_fixture()
    reader = fixture.profiles[READER]
    assert reader.iam_id == "iam-" + READER and reader.crn == READER_CRN and reader.name == "profile-reader"
    assert fixture.identities[reader.iam_id].kind == "profile"
    assert [i.name for i in fixture.instances] == ["vsi-1", "vsi-nodefault"]
    assert fixture.instances[0].default_profile == READER and fixture.instances[1].default_profile is None
    assert fixture.compute_resources["pod-1"].profiles == (READER, NOPOLICY)


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in data["identities"] if e.get("id") == READER)


BAD_FIXTURES = [
    (lambda d: _profile(d).update(id="Profile-xyz"), "Profile-<uuid>"),
    (lambda d: _profile(d).update(iam_id="iam-Profile-00000000-0000-4000-8000-000000000000"), "iam_id must be"),
    (lambda d: _profile(d).update(crn="crn:v1:bluemix:public:iam-identity::a/x::profile:y"), "crn must be"),
    (lambda d: _profile(d).pop("name"), "needs a name"),
    (lambda d: _profile(d).update(trusts=["iam-ServiceId-unknown"]), "trusts"),
    (lambda d: _profile(d).update(trusts="iam-ServiceId-x"), "trusts must be a list"),
    (lambda d: d["identities"][-1].update(name="profile-reader"), "already named"),
    (lambda d: d["instances"][0].update(id="i-123"), "0717_<uuid>"),
    (lambda d: d["instances"][1].update(name="vsi-1"), "duplicate name"),
    (lambda d: d["instances"][1].update(default_profile=READER), "default_profile"),
    (lambda d: d["instances"][0].update(profiles=["Profile-00000000-0000-4000-8000-000000000000"]), "not a trusted profile"),
    (lambda d: d["instances"][0].update(account="a2"), "another account"),
    (lambda d: d.update(instances={"vsi-1": {}}), "instances must be a list"),
    (lambda d: d["compute_resources"][0].update(cr_token="short"), "cr_token must be"),
    (lambda d: d["compute_resources"][0].update(cr_token=d["apikeys"][0]["value"]), "cr_token must be"),
    (lambda d: d["compute_resources"][0].update(profiles=[]), "at least one profile"),
    (lambda d: d["compute_resources"][0].update(profiles=[{"id": READER, "name": "wrong"}]), "is named"),
    (lambda d: d["compute_resources"][0].update(profiles=[READER, READER]), "listed twice"),
]


@pytest.mark.parametrize("mutate,message", BAD_FIXTURES)
def test_bad_keyless_fixture_parts_are_refused(mutate: Any, message: str) -> None:
    data = default_data()
    mutate(data)
    with pytest.raises(FixtureError, match=message):
        load_fixture(copy.deepcopy(data))


# --- cr-token grant --------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", [{"profile_id": READER}, {"profile_name": "profile-reader"},
                                  {"profile_id": READER, "profile_name": "profile-reader", "scope": "ibm openid"}])
def test_cr_token_grant(emu: Emulator, form: dict[str, str]) -> None:
    resp = cr_login(emu, cr_token=emu.cr_token("pod-1"), **form)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"access_token", "refresh_token", "token_type", "expires_in", "expiration"} <= set(body)
    claims = verify_access(emu, body["access_token"])
    assert claims["iam_id"] == "iam-" + READER and claims["grant_type"] == CR_GRANT and claims["sub_type"] == "Profile"
    assert access_claim(realm_token(emu, "iambearer", body["access_token"], "repository:team-a/app:pull,push")) == pull_only()
    counters = emu.counters()
    assert counters["iam_token"] == 1 and counters["iam_token_cr"] == 1 and counters["iam_token_issued"] == 1


def test_cr_token_grant_errors(emu: Emulator) -> None:
    value = emu.cr_token("pod-1")
    assert "cr_token" in assert_iam_error(cr_login(emu, profile_id=READER), 400, "BXNIM0109E")["errorDetails"]
    assert "profile_name" in assert_iam_error(cr_login(emu, cr_token=value), 400, "BXNIM0109E")["errorDetails"]
    body = assert_iam_error(cr_login(emu, cr_token=value, profile_id=READER, profile_name="profile-nopolicy"), 400, "BXNIM0442E")
    assert value not in json.dumps(body)
    assert_iam_error(cr_login(emu, cr_token=value + "x", profile_id=READER), 400, "BXNIM0440E")
    assert_iam_error(cr_login(emu, cr_token=value, profile_name="no-such-profile"), 400, "BXNIM0441E")
    assert_iam_error(cr_login(emu, cr_token=value, profile_id="Profile-00000000-0000-4000-8000-000000000000"), 400, "BXNIM0441E")
    assert emu.counters()["iam_token_cr"] == 6 and emu.counters()["iam_token_issued"] == 0


def test_cr_token_not_linked_profile(state_dir: str) -> None:
    data = default_data()
    data["compute_resources"][0]["profiles"] = [NOPOLICY]
    with Emulator(fixture=data, state_dir=state_dir) as emu:
        resp = cr_login(emu, cr_token=emu.cr_token("pod-1"), profile_id=READER)
        assert_iam_error(resp, 403, "BXNIM0443E")
        assert resp.headers["X-Icr-Emulator-Invented"] == "BXNIM0443E"
        assert cr_login(emu, cr_token=emu.cr_token("pod-1"), profile_id=NOPOLICY).status_code == 200


def test_cr_token_rotation(emu: Emulator) -> None:
    old = emu.cr_token("pod-1")
    new = emu.rotate_cr_token("pod-1")
    assert new != old and emu.cr_token("pod-1") == new
    assert_iam_error(cr_login(emu, cr_token=old, profile_id=READER), 400, "BXNIM0440E")
    assert cr_login(emu, cr_token=new, profile_id=READER).status_code == 200
    over_http = requests.post(emu.url + "/_emulator/rotate-cr-token", json={"name": "pod-1"}, timeout=10)
    assert over_http.status_code == 200
    newest = over_http.json()["cr_token"]
    assert_iam_error(cr_login(emu, cr_token=new, profile_id=READER), 400, "BXNIM0440E")
    assert cr_login(emu, cr_token=newest, profile_id=READER).status_code == 200
    assert requests.post(emu.url + "/_emulator/rotate-cr-token", json={"name": "nope"}, timeout=10).status_code == 404
    with pytest.raises(KeyError):
        emu.cr_token("nope")
    emu.reset()
    assert emu.cr_token("pod-1") == old


def test_cr_token_follows_lifetimes(emu: Emulator) -> None:
    emu.set_lifetimes(access_token_lifetime=20, outside_ibm_limits=True)
    body = cr_login(emu, cr_token=emu.cr_token("pod-1"), profile_id=READER).json()
    assert body["expires_in"] == 20
    claims = verify_access(emu, body["access_token"])
    assert claims["exp"] - claims["iat"] == 20


# --- assume grant ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("ref", [{"profile_id": READER}, {"profile_crn": READER_CRN},
                                 {"profile_name": "profile-reader", "account": A1}])
def test_assume_grant(emu: Emulator, ref: dict[str, str]) -> None:
    token = apikey_login(emu, "svc-nopolicy").json()["access_token"]
    resp = assume(emu, access_token=token, **ref)
    assert resp.status_code == 200, resp.text
    claims = verify_access(emu, resp.json()["access_token"])
    assert claims["iam_id"] == "iam-" + READER and claims["grant_type"] == ASSUME_GRANT
    assert access_claim(realm_token(emu, "iambearer", resp.json()["access_token"], PULL)) == pull_only()
    # the caller itself has no registry policy
    assert access_claim(realm_token(emu, "iambearer", token, PULL)) == []
    assert emu.counters()["iam_token_assume"] == 1 and emu.counters()["iam_token_apikey"] == 1


def test_assume_grant_errors(emu: Emulator) -> None:
    trusted = apikey_login(emu, "svc-nopolicy").json()["access_token"]
    untrusted = apikey_login(emu, "svc-writer").json()["access_token"]
    assert_iam_error(assume(emu, profile_id=READER), 400, "BXNIM0109E")
    assert_iam_error(assume(emu, access_token=trusted), 400, "BXNIM0109E")
    assert "account" in assert_iam_error(assume(emu, access_token=trusted, profile_name="profile-reader"), 400,
                                         "BXNIM0109E")["errorDetails"]
    assert_iam_error(assume(emu, access_token=trusted, profile_id=READER, profile_crn=READER_CRN), 400, "BXNIM0442E")
    assert_iam_error(assume(emu, access_token=trusted[:-4] + "AAAA", profile_id=READER), 400, "BXNIM0444E")
    assert_iam_error(assume(emu, access_token=trusted, profile_name="profile-reader", account="7debd775e2ed3ee17a9eff43ca8813d1"),
                     400, "BXNIM0441E")
    assert_iam_error(assume(emu, access_token=untrusted, profile_id=READER), 403, "BXNIM0443E")
    assert_iam_error(assume(emu, access_token=trusted, profile_id=NOPOLICY), 403, "BXNIM0443E")
    # a profile token cannot assume another profile (profiles trust no profile)
    profile_token = assume(emu, access_token=trusted, profile_id=READER).json()["access_token"]
    assert_iam_error(assume(emu, access_token=profile_token, profile_id=READER), 403, "BXNIM0443E")


def test_unknown_grant_lists_the_keyless_grants(emu: Emulator) -> None:
    body = assert_iam_error(iam_token(emu, {"grant_type": "password"}), 400, "BXNIM0106E")
    assert CR_GRANT in body["errorMessage"] and ASSUME_GRANT in body["errorMessage"] and APIKEY_GRANT in body["errorMessage"]


# --- trusted-profile registry login (profile id + service ID API key) -----------------------------------

def test_profile_login_acts_with_the_profiles_policies(emu: Emulator) -> None:
    # svc-other-account (account a2, no policy on team-a) is trusted by profile-reader (account a1)
    resp = realm_token(emu, READER, emu.apikey("svc-other-account"), "repository:team-a/app:pull,push")
    assert access_claim(resp) == pull_only()
    assert jwt_parts(resp.json()["token"])[1]["sub"] == "iam-" + READER
    assert access_claim(realm_token(emu, "iamapikey", emu.apikey("svc-other-account"), PULL)) == []
    assert emu.counters()["registry_token_profile"] == 1 and emu.counters()["registry_token_iamapikey"] == 1


@pytest.mark.parametrize("user,key", [
    (READER, "svc-writer"),           # a service ID the profile does not trust
    (READER, "user-admin"),           # trusted, but a user's key: the login takes service ID keys only
    (NOPOLICY, "svc-nopolicy"),       # a profile that trusts nobody
    ("Profile-00000000-0000-4000-8000-000000000000", "svc-nopolicy"),
    (READER, None),                   # a password that is no key
])
def test_profile_login_bad_pair_is_400(emu: Emulator, user: str, key: str | None) -> None:
    password = emu.apikey(key) if key else "not-an-api-key-at-all-0000"
    resp = realm_token(emu, user, password, PULL)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_profile_login_with_revoked_key_is_400(emu: Emulator) -> None:
    emu.revoke("svc-nopolicy")
    assert realm_token(emu, READER, emu.apikey("svc-nopolicy"), PULL).status_code == 400


def test_profile_login_stays_400_under_the_401_variant(emu: Emulator) -> None:
    emu.set_variants(bad_credential_status=401)
    assert realm_token(emu, READER, emu.apikey("svc-writer"), PULL).status_code == 400


# --- the request log --------------------------------------------------------------------------------------

def test_request_log_holds_no_cr_token_key_or_token(state_dir: str) -> None:
    log = io.StringIO()
    with Emulator(state_dir=state_dir, log_stream=log) as emu:
        value = emu.cr_token("pod-1")
        body = cr_login(emu, cr_token=value, profile_id=READER).json()
        cr_login(emu, cr_token=value + "x", profile_id=READER)
        key = emu.apikey("svc-nopolicy")
        caller = apikey_login(emu, "svc-nopolicy").json()["access_token"]
        assumed = assume(emu, access_token=caller, profile_id=READER).json()["access_token"]
        realm_token(emu, READER, key, PULL)
        realm_token(emu, READER, key + "x", PULL)
        rotated = requests.post(emu.url + "/_emulator/rotate-cr-token", json={"name": "pod-1"}, timeout=10).json()["cr_token"]
        text = log.getvalue()
    assert "/identity/token" in text and "/oauth/token" in text
    for secret in (value, body["access_token"], key, caller, assumed, rotated, value[-20:], key[:16]):
        assert secret not in text
