"""The Container Registry namespaces API (GET /api/v1/namespaces) and the IAM-admin trusted profile of the default
fixture (profile-iam-admin: the Identity and Policy APIs as a profile, by assume and by cr token)."""
from __future__ import annotations

import requests
from emu_helpers import iam_token
from mgmt_helpers import A1, A2, auth, call, create_service_id, policy_body

from icr_emulator import Emulator

IAM_ADMIN = "Profile-3876e0a4-cbf5-4c18-9905-cabe155e2e44"
CR_GRANT = "urn:ibm:params:oauth:grant-type:cr-token"
ASSUME_GRANT = "urn:ibm:params:oauth:grant-type:assume"
INVENTED = "X-Icr-Emulator-Invented"


def namespaces(emu: Emulator, headers: dict[str, str], account: str | None = A1, method: str = "GET") -> requests.Response:
    sent = dict(headers)
    if account is not None:
        sent["Account"] = account
    return call(emu, method, "/api/v1/namespaces", sent)


def test_namespaces_of_the_account_header_as_a_list_of_names(emu: Emulator) -> None:
    before = emu.counters()["registry_namespaces"]
    resp = namespaces(emu, auth(emu))
    assert resp.status_code == 200 and resp.json() == ["demo", "team-a"]
    other = namespaces(emu, auth(emu, "svc-other-account"), account=A2)
    assert other.status_code == 200 and other.json() == ["team-b"]
    assert emu.counters()["registry_namespaces"] == before + 2


def test_namespaces_refusals(emu: Emulator) -> None:
    no_token = namespaces(emu, {})
    assert no_token.status_code == 401 and no_token.headers[INVENTED] == "CRG0401E"
    assert namespaces(emu, {"Authorization": "Bearer not-a-token"}).status_code == 401
    assert namespaces(emu, auth(emu), account=None).status_code == 400
    wrong = namespaces(emu, auth(emu), account=A2)
    assert wrong.status_code == 403 and A2 in wrong.json()["message"]
    assert namespaces(emu, auth(emu), method="POST").status_code == 405


def test_namespaces_faults_and_reset(emu: Emulator) -> None:
    emu.inject_fault("registry_namespaces", status=503, retry_after=1)
    faulted = namespaces(emu, auth(emu))
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "1"
    assert namespaces(emu, auth(emu)).status_code == 200
    assert emu.counters()["faults_served"] >= 1
    emu.reset()
    assert emu.counters()["registry_namespaces"] == 0


def _profile_headers(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 200, resp.text
    return {"Authorization": "Bearer " + resp.json()["access_token"]}


def test_the_iam_admin_profile_manages_service_ids_and_policies(emu: Emulator) -> None:
    user = auth(emu)
    assumed = _profile_headers(iam_token(emu, {"grant_type": ASSUME_GRANT, "access_token": user["Authorization"][7:],
                                               "profile_id": IAM_ADMIN}))
    by_pod = _profile_headers(iam_token(emu, {"grant_type": CR_GRANT, "cr_token": emu.cr_token("pod-1"),
                                              "profile_name": "profile-iam-admin"}))
    for index, headers in enumerate((assumed, by_pod)):
        sid = create_service_id(emu, headers, f"made-by-profile-{index}")
        made = call(emu, "POST", "/v1/policies", headers, json=policy_body(sid["iam_id"]))
        assert made.status_code == 201, made.text
        assert namespaces(emu, headers).json() == ["demo", "team-a"]
    reader = _profile_headers(iam_token(emu, {"grant_type": CR_GRANT, "cr_token": emu.cr_token("pod-1"),
                                              "profile_id": "Profile-e86a78ef-3927-4e8f-9b0c-15434b101e77"}))
    refused = call(emu, "POST", "/v1/serviceids/", reader, json={"account_id": A1, "name": "nope"})
    assert refused.status_code == 403
