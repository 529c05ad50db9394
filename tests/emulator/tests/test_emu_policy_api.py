"""IAM Policy Management API v1 of the emulator over real HTTP (reference 3.2), and its effect on the realm."""
from __future__ import annotations

import requests

from icr_emulator import Emulator
from mgmt_helpers import (A1, A2, CR_ROLE, NOPOLICY_IAM_ID, READER_IAM_ID, auth, call, create_apikey,
                          create_service_id, policy_body, pull_granted, push_granted)


def _new_puller(emu: Emulator, admin: dict[str, str], name: str = "puller") -> tuple[dict, str]:
    sid = create_service_id(emu, admin, name, apikey={"name": name + "-key"})
    return sid, sid["apikey"]["apikey"]


def test_create_takes_effect_at_once_and_get_has_etag(emu: Emulator) -> None:
    admin = auth(emu)
    sid, value = _new_puller(emu, admin)
    assert pull_granted(emu, value) is False
    resp = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"], region="us-south"))
    assert resp.status_code == 201
    policy = resp.json()
    assert policy["href"] == f"{emu.url}/v1/policies/{policy['id']}" and policy["type"] == "access"
    assert policy["roles"][0]["role_id"] == CR_ROLE + "Reader"
    assert pull_granted(emu, value) is True
    assert pull_granted(emu, value, "demo/app") is False
    got = call(emu, "GET", f"/v1/policies/{policy['id']}", admin)
    assert got.status_code == 200 and got.headers["ETag"] == resp.headers["ETag"]
    listed = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "iam_id": sid["iam_id"]}).json()
    assert [p["id"] for p in listed["policies"]] == [policy["id"]]
    assert any(p["id"] == policy["id"] and p["etag"] == got.headers["ETag"] for p in emu.policies())


def test_duplicate_gives_409_with_the_existing_policy(emu: Emulator) -> None:
    admin = auth(emu)
    sid, _value = _new_puller(emu, admin)
    first = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    body = policy_body(sid["iam_id"])
    body["resources"][0]["attributes"].reverse()   # the same policy, attributes in another order
    dup = call(emu, "POST", "/v1/policies", admin, json=body)
    assert dup.status_code == 409
    data = dup.json()
    assert data["status_code"] == 409 and data["trace"]
    error = data["errors"][0]
    assert error["code"] == "policy_conflict_error"
    conflict = error["details"]["conflicts_with"]
    assert conflict["etag"] == first.headers["ETag"]
    assert conflict["policy"]["id"] == first.json()["id"] and conflict["policy"]["href"] == first.json()["href"]
    assert "X-Icr-Emulator-Invented" not in dup.headers
    other_role = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"], "Writer"))
    assert other_role.status_code == 201
    fixture_dup = policy_body(READER_IAM_ID)
    fixture_dup["roles"] = [{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Reader"}]
    clash = call(emu, "POST", "/v1/policies", admin, json=fixture_dup)
    assert clash.status_code == 409
    assert clash.json()["errors"][0]["details"]["conflicts_with"]["policy"]["id"] == "policy-svc-reader-team-a"


def test_replace_needs_if_match_and_the_realm_follows(emu: Emulator) -> None:
    admin = auth(emu)
    sid, value = _new_puller(emu, admin)
    created = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    path = f"/v1/policies/{created.json()['id']}"
    writer = policy_body(sid["iam_id"], "Writer")
    assert call(emu, "PUT", path, admin, json=writer).status_code == 428
    stale = call(emu, "PUT", path, dict(admin, **{"If-Match": "1-" + "f" * 32}), json=writer)
    assert stale.status_code == 412 and stale.json()["errors"][0]["code"] == "entity_tag_mismatch"
    assert push_granted(emu, value) is False
    put = call(emu, "PUT", path, dict(admin, **{"If-Match": created.headers["ETag"]}), json=writer)
    assert put.status_code == 200 and put.headers["ETag"] != created.headers["ETag"]
    assert put.json()["created_at"] == created.json()["created_at"]
    assert push_granted(emu, value) is True
    again = call(emu, "PUT", path, dict(admin, **{"If-Match": created.headers["ETag"]}), json=policy_body(sid["iam_id"]))
    assert again.status_code == 412
    other = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"], "Reader", namespace="demo"))
    into_dup = call(emu, "PUT", f"/v1/policies/{other.json()['id']}", dict(admin, **{"If-Match": other.headers["ETag"]}),
                    json=writer)
    assert into_dup.status_code == 409
    assert into_dup.json()["errors"][0]["details"]["conflicts_with"]["policy"]["id"] == created.json()["id"]


def test_delete_stops_access_at_once(emu: Emulator) -> None:
    admin = auth(emu)
    assert pull_granted(emu, emu.apikey("svc-reader")) is True
    assert call(emu, "DELETE", "/v1/policies/policy-svc-reader-team-a", admin).status_code == 204
    assert pull_granted(emu, emu.apikey("svc-reader")) is False
    missing = call(emu, "GET", "/v1/policies/policy-svc-reader-team-a", admin)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "policy_not_found"
    assert call(emu, "DELETE", "/v1/policies/policy-svc-reader-team-a", admin).status_code == 404
    emu.reset()
    assert pull_granted(emu, emu.apikey("svc-reader")) is True


def test_bad_roles_and_attributes_are_400(emu: Emulator) -> None:
    admin = auth(emu)
    cases = []
    bad_role = policy_body(NOPOLICY_IAM_ID)
    bad_role["roles"] = [{"role_id": CR_ROLE + "Owner"}]
    cases.append((bad_role, "invalid_role"))
    plain_role = policy_body(NOPOLICY_IAM_ID)
    plain_role["roles"] = [{"role_id": "Reader"}]
    cases.append((plain_role, "invalid_role"))
    bad_attr = policy_body(NOPOLICY_IAM_ID)
    bad_attr["resources"][0]["attributes"].append({"name": "colour", "value": "blue"})
    cases.append((bad_attr, "invalid_resource"))
    cases.append((policy_body(NOPOLICY_IAM_ID, region="mars-north"), "invalid_resource"))
    match = policy_body(NOPOLICY_IAM_ID)
    match["resources"][0]["attributes"][-1]["operator"] = "stringMatch"
    cases.append((match, "invalid_resource"))
    cases.append((policy_body("iam-ServiceId-00000000-0000-0000-0000-000000000000"), "invalid_subject"))
    no_roles = policy_body(NOPOLICY_IAM_ID)
    no_roles["roles"] = []
    cases.append((no_roles, "invalid_body"))
    cases.append((dict(policy_body(NOPOLICY_IAM_ID), type="authorization"), "invalid_body"))
    for body, code in cases:
        resp = call(emu, "POST", "/v1/policies", admin, json=body)
        assert resp.status_code == 400, (code, resp.text)
        data = resp.json()
        assert data["errors"][0]["code"] == code and data["status_code"] == 400 and data["trace"]
    assert pull_granted(emu, emu.apikey("svc-nopolicy")) is False


def test_locked_service_id_subject_is_refused(emu: Emulator) -> None:
    admin = auth(emu)
    sid = create_service_id(emu, admin, "locked-subject")
    assert call(emu, "POST", f"/v1/serviceids/{sid['id']}/lock", admin).status_code == 204
    resp = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "subject_locked"
    assert call(emu, "DELETE", f"/v1/serviceids/{sid['id']}/lock", admin).status_code == 204
    assert call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"])).status_code == 201


def test_eventual_consistency(emu: Emulator) -> None:
    admin = auth(emu)
    sid, value = _new_puller(emu, admin)
    emu.set_consistency_delay(reads=2)
    created = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    path = f"/v1/policies/{created.json()['id']}"
    assert pull_granted(emu, value) is True   # enforced at once
    assert call(emu, "GET", path, admin).status_code == 404
    assert call(emu, "GET", path, admin).status_code == 404
    got = call(emu, "GET", path, admin)
    assert got.status_code == 200 and got.headers["ETag"] == created.headers["ETag"]
    assert call(emu, "GET", "/v1/policies/policy-svc-reader-team-a", admin).status_code == 200   # older ones answer
    assert requests.post(emu.url + "/_emulator/consistency", json={"reads": 1}, timeout=10).status_code == 200
    second = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"], "Writer"))
    assert call(emu, "GET", f"/v1/policies/{second.json()['id']}", admin).status_code == 404
    assert call(emu, "GET", f"/v1/policies/{second.json()['id']}", admin).status_code == 200
    emu.reset()
    sid, _value = _new_puller(emu, auth(emu))
    third = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    assert call(emu, "GET", f"/v1/policies/{third.json()['id']}", admin).status_code == 200   # reset: off


def test_list_pagination_and_filters(emu: Emulator) -> None:
    admin = auth(emu)
    everything = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "limit": 100}).json()
    total = len(everything["policies"])
    assert total == 9 and "next" not in everything   # 9 fixture policies in a1 (8 of service IDs and users, 1 of profile-reader)
    seen = []
    page = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "limit": 3}).json()
    for _round in range(10):   # bounded: a broken start token must fail, not loop
        assert page["limit"] == 3 and "href" in page["first"]
        seen += [p["id"] for p in page["policies"]]
        if "next" not in page:
            break
        assert page["next"]["start"] in page["next"]["href"]
        page = requests.get(page["next"]["href"], headers=admin, timeout=10).json()
    assert seen == [p["id"] for p in everything["policies"]]
    by_start = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "limit": 3, "start": page_start(emu, admin)})
    assert by_start.status_code == 200 and len(by_start.json()["policies"]) == 3
    filtered = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "iam_id": READER_IAM_ID}).json()
    assert {p["id"] for p in filtered["policies"]} == {"policy-svc-reader-team-a", "policy-svc-reader-team-a-eu-de-writer"}
    call(emu, "POST", "/v1/policies", admin, json=policy_body(NOPOLICY_IAM_ID, "Viewer", service="iam-identity"))
    platform = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "service_type": "platform_service"}).json()
    assert [p["resources"][0]["attributes"][1]["value"] for p in platform["policies"]] == ["iam-identity"]
    for bad in ({"limit": 0}, {"limit": 101}, {"start": "garbage"}, {"type": "weird"}):
        assert call(emu, "GET", "/v1/policies", admin, params=dict({"account_id": A1}, **bad)).status_code == 400
    assert call(emu, "GET", "/v1/policies", admin).status_code == 400   # account_id is required


def page_start(emu: Emulator, admin: dict[str, str]) -> str:
    """The `start` token of the second page of three."""
    return call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "limit": 3}).json()["next"]["start"]


def test_policy_api_needs_a_token_and_access(emu: Emulator) -> None:
    for headers in ({}, {"Authorization": "Bearer forged.token.value"}):
        resp = call(emu, "GET", "/v1/policies", headers, params={"account_id": A1})
        assert resp.status_code == 401 and resp.json()["status_code"] == 401
    nopolicy = auth(emu, "svc-nopolicy")
    for method, body in (("GET", None), ("POST", policy_body(NOPOLICY_IAM_ID))):
        resp = call(emu, method, "/v1/policies", nopolicy, params={"account_id": A1}, json=body)
        assert resp.status_code == 403 and resp.json()["errors"][0]["code"] == "insufficient_permissions"
    assert pull_granted(emu, emu.apikey("svc-nopolicy")) is False   # it could not grant itself access
    admin = auth(emu)
    grant = policy_body(NOPOLICY_IAM_ID, "Administrator", service="iam-access-management")
    assert call(emu, "POST", "/v1/policies", admin, json=grant).status_code == 201
    assert call(emu, "POST", "/v1/policies", nopolicy, json=policy_body(NOPOLICY_IAM_ID)).status_code == 201
    assert pull_granted(emu, emu.apikey("svc-nopolicy")) is True
    assert call(emu, "GET", "/v1/policies", nopolicy, params={"account_id": A2}).status_code == 403
    other_account = policy_body(NOPOLICY_IAM_ID, account=A2, namespace="team-b")
    assert call(emu, "POST", "/v1/policies", admin, json=other_account).status_code == 403


def test_deleted_service_id_loses_its_policies_and_keys(emu: Emulator) -> None:
    admin = auth(emu)
    sid, value = _new_puller(emu, admin)
    extra = create_apikey(emu, admin, sid["iam_id"], "second")
    call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
    assert pull_granted(emu, extra["apikey"]) is True
    assert call(emu, "DELETE", f"/v1/serviceids/{sid['id']}", admin).status_code == 204
    assert pull_granted(emu, value) is None and pull_granted(emu, extra["apikey"]) is None
    listed = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1, "iam_id": sid["iam_id"]}).json()
    assert listed["policies"] == []


def test_policy_counters_and_faults(emu: Emulator) -> None:
    admin = auth(emu)
    emu.inject_fault("policies", status=503, retry_after=1.5)
    resp = call(emu, "GET", "/v1/policies", admin, params={"account_id": A1})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1.5"
    assert resp.json()["errors"][0]["code"] == "EMULATOR_FAULT" and resp.json()["status_code"] == 503
    assert call(emu, "GET", "/v1/policies", admin, params={"account_id": A1}).status_code == 200
    assert emu.counters()["policies"] == 2 and emu.counters()["faults_served"] == 1
    pending = requests.post(emu.url + "/_emulator/faults", json={"endpoint": "policies", "status": 429}, timeout=10)
    assert pending.status_code == 200
    assert call(emu, "GET", "/v1/policies/policy-svc-reader-team-a", admin).status_code == 429


def test_readme_names_existing_management_tests() -> None:
    import ast
    import pathlib
    here = pathlib.Path(__file__).resolve().parent
    text = (here.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Reference behaviours and their tests"):]
    named = [t.strip() for line in section.splitlines() if line.startswith("| 3.")
             for t in line.strip().strip("|").split("|")[2].split(",")]
    assert len(named) >= 15
    for name in named:
        filename, _sep, func = name.partition("::")
        tree = ast.parse((here / filename).read_text(encoding="utf-8"))
        assert func in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, name
