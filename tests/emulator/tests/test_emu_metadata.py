"""VPC instance metadata service: both API versions, header, expires_in, profiles, errors, faults, counters."""
from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests
from emu_helpers import jwt_parts, realm_token, verify_access

from icr_emulator import Emulator

NEW, LEGACY = "2025-08-26", "2022-03-01"
READER = "Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77"
NOPOLICY = "Profile-3028434f-f369-427d-8c4d-edf5c75ee2c2"
A1 = "0399f7d0bbd61ecb2ec14cc4d51098bb"
FLAVOR = {"Metadata-Flavor": "ibm"}
PATHS = {NEW: ("/identity/v1/token", "/identity/v1/iam_tokens"),
         LEGACY: ("/instance_identity/v1/token", "/instance_identity/v1/iam_token")}


def identity_token(emu: Emulator, version: str = NEW, body: Any = None, headers: dict[str, str] | None = None,
                   path: str | None = None, **kwargs: Any) -> requests.Response:
    """Step 1: PUT .../token."""
    return requests.put(emu.metadata_url + (path or PATHS[version][0]), params={"version": version},
                        json={"expires_in": 300} if body is None else body,
                        headers=FLAVOR if headers is None else headers, timeout=kwargs.pop("timeout", 10), **kwargs)


def iam_token(emu: Emulator, token: str, version: str = NEW, body: Any = None, headers: dict[str, str] | None = None,
              path: str | None = None, **kwargs: Any) -> requests.Response:
    """Step 2: POST .../iam_token(s) with the identity token as Bearer."""
    hdrs = dict(FLAVOR if headers is None else headers, Authorization=f"Bearer {token}")
    return requests.post(emu.metadata_url + (path or PATHS[version][1]), params={"version": version}, json=body,
                         headers=hdrs, timeout=kwargs.pop("timeout", 10), **kwargs)


def assert_vpc_error(resp: requests.Response, status: int, code: str) -> str:
    """The VPC API error shape with that status and code; the message."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"errors", "trace"} and body["trace"]
    assert body["errors"][0]["code"] == code
    assert body["errors"][0]["message"] and body["errors"][0]["more_info"].startswith("https://cloud.ibm.com/docs/vpc")
    return body["errors"][0]["message"]


@pytest.mark.parametrize("version", [NEW, LEGACY])
def test_both_versions_default_profile_token_works_at_realm(emu: Emulator, version: str) -> None:
    step1 = identity_token(emu, version)
    assert step1.status_code == 200, step1.text
    body1 = step1.json()
    assert set(body1) == {"access_token", "created_at", "expires_at", "expires_in"}
    assert body1["expires_in"] == 300
    step2 = iam_token(emu, body1["access_token"], version)
    assert step2.status_code == 200, step2.text
    body2 = step2.json()
    assert set(body2) == {"access_token", "created_at", "expires_at", "expires_in"}
    assert body2["expires_in"] == 3600
    claims = verify_access(emu, body2["access_token"])
    assert claims["iam_id"] == "iam-" + READER and claims["sub_type"] == "Profile"
    assert claims["account"]["bss"] == A1
    assert claims["exp"] - claims["iat"] == 3600
    assert body2["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))
    ok = realm_token(emu, "iambearer", body2["access_token"], "repository:team-a/app:pull,push")
    assert ok.status_code == 200
    # the profile's own policy (Reader on team-a): pull, not push
    assert jwt_parts(ok.json()["token"])[1]["access"] == [{"type": "repository", "name": "team-a/app", "actions": ["pull"]}]
    assert emu.counters()["metadata_token"] == 1 and emu.counters()["metadata_iam_token"] == 1


def test_the_instance_identity_token_is_no_iam_token(emu: Emulator) -> None:
    token = identity_token(emu).json()["access_token"]
    assert realm_token(emu, "iambearer", token, "repository:team-a/app:pull").status_code == 400
    assert iam_token(emu, "not-a-token").status_code == 401


def test_legacy_paths_answer_404_under_the_new_version(emu: Emulator) -> None:
    assert_vpc_error(identity_token(emu, NEW, path=PATHS[LEGACY][0]), 404, "not_found")
    token = identity_token(emu, NEW).json()["access_token"]
    assert_vpc_error(iam_token(emu, token, NEW, path=PATHS[LEGACY][1]), 404, "not_found")
    later = identity_token(emu, "2026-01-15", path=PATHS[LEGACY][0])
    assert_vpc_error(later, 404, "not_found")
    # the new paths exist only from 2025-08-26 on
    assert_vpc_error(identity_token(emu, LEGACY, path=PATHS[NEW][0]), 404, "not_found")
    assert identity_token(emu, "2024-11-12", path=PATHS[LEGACY][0]).status_code == 200


def test_version_is_required_and_checked(emu: Emulator) -> None:
    resp = requests.put(emu.metadata_url + PATHS[NEW][0], json={}, headers=FLAVOR, timeout=10)
    assert_vpc_error(resp, 400, "missing_version")
    assert_vpc_error(identity_token(emu, "2025-13-45", path=PATHS[NEW][0]), 400, "invalid_version")
    assert_vpc_error(identity_token(emu, "2999-01-01", path=PATHS[NEW][0]), 400, "invalid_version")


@pytest.mark.parametrize("headers", [{}, {"Metadata-Flavor": "google"}, {"Metadata-Flavor": "IBM "}])
def test_metadata_flavor_header_is_required(emu: Emulator, headers: dict[str, str]) -> None:
    assert "flavor" in assert_vpc_error(identity_token(emu, headers=headers), 400, "missing_metadata_flavor").lower()
    token = identity_token(emu).json()["access_token"]
    assert_vpc_error(iam_token(emu, token, headers=headers), 400, "missing_metadata_flavor")


@pytest.mark.parametrize("expires_in,status", [(5, 200), (3600, 200), (4, 400), (3601, 400), ("300", 400), (True, 400)])
def test_expires_in_range(emu: Emulator, expires_in: Any, status: int) -> None:
    resp = identity_token(emu, body={"expires_in": expires_in})
    assert resp.status_code == status, resp.text
    if status == 400:
        assert_vpc_error(resp, 400, "invalid_expires_in")
    else:
        assert resp.json()["expires_in"] == expires_in


def test_no_body_means_300_seconds_and_unknown_properties_are_refused(emu: Emulator) -> None:
    resp = requests.put(emu.metadata_url + PATHS[NEW][0], params={"version": NEW}, headers=FLAVOR, timeout=10)
    assert resp.status_code == 200 and resp.json()["expires_in"] == 300
    assert_vpc_error(identity_token(emu, body={"expires-in": 60}), 400, "invalid_property")
    assert_vpc_error(identity_token(emu, body=[1]), 400, "invalid_json")


def test_identity_token_is_short_lived(emu: Emulator) -> None:
    token = identity_token(emu, body={"expires_in": 5}).json()["access_token"]
    assert iam_token(emu, token).status_code == 200
    time.sleep(5.2)
    assert_vpc_error(iam_token(emu, token), 401, "invalid_token")


def test_methods_and_bearer(emu: Emulator) -> None:
    resp = requests.post(emu.metadata_url + PATHS[NEW][0], params={"version": NEW}, headers=FLAVOR, timeout=10)
    assert_vpc_error(resp, 405, "method_not_allowed")
    assert resp.headers["Allow"] == "PUT"
    resp = requests.post(emu.metadata_url + PATHS[NEW][1], params={"version": NEW}, headers=FLAVOR, timeout=10)
    assert_vpc_error(resp, 401, "missing_authorization")


@pytest.mark.parametrize("ref", [{"id": NOPOLICY}, {"crn": f"crn:v1:bluemix:public:iam-identity::a/{A1}::profile:{NOPOLICY}"}])
def test_named_linked_profile(emu: Emulator, ref: dict[str, str]) -> None:
    token = identity_token(emu).json()["access_token"]
    resp = iam_token(emu, token, body={"trusted_profile": ref})
    assert resp.status_code == 200, resp.text
    access = resp.json()["access_token"]
    assert verify_access(emu, access)["iam_id"] == "iam-" + NOPOLICY
    # the profile has no registry policy: the realm grants nothing
    resp = realm_token(emu, "iambearer", access, "repository:team-a/app:pull")
    assert resp.status_code == 200 and jwt_parts(resp.json()["token"])[1]["access"] == []


def test_profile_errors(emu: Emulator) -> None:
    token = identity_token(emu).json()["access_token"]
    crn = f"crn:v1:bluemix:public:iam-identity::a/{A1}::profile:{READER}"
    msg = assert_vpc_error(iam_token(emu, token, body={"trusted_profile": {"id": READER, "crn": crn}}), 400,
                           "invalid_trusted_profile")
    assert "not both" in msg
    assert_vpc_error(iam_token(emu, token, body={"trusted_profile": {}}), 400, "invalid_trusted_profile")
    assert_vpc_error(iam_token(emu, token, body={"trusted_profile": {"name": "profile-reader"}}), 400, "invalid_trusted_profile")
    unknown = "Profile-00000000-0000-4000-8000-000000000000"
    assert_vpc_error(iam_token(emu, token, body={"trusted_profile": {"id": unknown}}), 403, "trusted_profile_not_linked")


def test_set_instance_changes_the_linked_profiles(emu: Emulator) -> None:
    assert emu.instance()["name"] == "vsi-1"
    emu.set_instance("vsi-nodefault")
    assert emu.instance()["id"] == "0717_ad0cbcfa-adc6-4d5f-b4f4-2419dfd04152"
    token = identity_token(emu).json()["access_token"]
    assert_vpc_error(iam_token(emu, token), 400, "no_default_trusted_profile")
    assert_vpc_error(iam_token(emu, token, body={"trusted_profile": {"id": READER}}), 403, "trusted_profile_not_linked")
    assert iam_token(emu, token, body={"trusted_profile": {"id": NOPOLICY}}).status_code == 200
    with pytest.raises(KeyError):
        emu.set_instance("no-such-vm")
    emu.reset()
    assert emu.instance()["name"] == "vsi-1"


def test_admin_instance_endpoint(emu: Emulator) -> None:
    resp = requests.post(emu.url + "/_emulator/instance", json={"name": "vsi-nodefault"}, timeout=10)
    assert resp.status_code == 200 and resp.json()["name"] == "vsi-nodefault"
    assert requests.get(emu.url + "/_emulator/instance", timeout=10).json()["default_profile"] is None
    assert requests.post(emu.url + "/_emulator/instance", json={"name": "nope"}, timeout=10).status_code == 404


def test_profile_tokens_follow_the_lifetimes(emu: Emulator) -> None:
    emu.set_lifetimes(access_token_lifetime=30, outside_ibm_limits=True)
    token = identity_token(emu).json()["access_token"]
    body = iam_token(emu, token).json()
    assert body["expires_in"] == 30
    claims = verify_access(emu, body["access_token"])
    assert claims["exp"] - claims["iat"] == 30


def test_faults_on_both_steps(emu: Emulator) -> None:
    emu.inject_fault("metadata_token", status=503)
    assert_vpc_error(identity_token(emu), 503, "emulator_fault")
    assert identity_token(emu).status_code == 200
    token = identity_token(emu).json()["access_token"]
    emu.inject_fault("metadata_iam_token", status=500)
    assert_vpc_error(iam_token(emu, token), 500, "emulator_fault")
    counters = emu.counters()
    assert counters["metadata_token"] == 3 and counters["metadata_iam_token"] == 1 and counters["faults_served"] == 2


@pytest.mark.parametrize("endpoint", ["metadata_token", "metadata_iam_token"])
def test_delay_fault_proves_a_client_timeout(emu: Emulator, endpoint: str) -> None:
    token = identity_token(emu).json()["access_token"]
    emu.inject_fault(endpoint, delay=2)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        if endpoint == "metadata_token":
            identity_token(emu, timeout=0.5)
        else:
            iam_token(emu, token, timeout=0.5)
    assert time.monotonic() - started < 1.5
    time.sleep(1.7)  # let the delayed answer go before the next test


def test_request_log_holds_no_token(state_dir: str) -> None:
    log = io.StringIO()
    with Emulator(state_dir=state_dir, log_stream=log) as emu:
        step1 = identity_token(emu).json()["access_token"]
        step2 = iam_token(emu, step1).json()["access_token"]
        assert_vpc_error(iam_token(emu, "wrong-" + step1[:20]), 401, "invalid_token")
        text = log.getvalue()
    assert "/identity/v1/token" in text and "/identity/v1/iam_tokens" in text
    for secret in (step1, step2, step1[:20]):
        assert secret not in text
    assert "version=" not in text
