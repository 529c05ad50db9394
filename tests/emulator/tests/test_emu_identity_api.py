"""IAM Identity API of the emulator: service IDs and API keys over real HTTP (reference 3.1)."""
from __future__ import annotations

import io
import re

import requests

from emu_helpers import APIKEY_GRANT, iam_token
from icr_emulator import Emulator
from mgmt_helpers import (A1, NOPOLICY_IAM_ID, READER_IAM_ID, auth, call, create_apikey, create_service_id,
                          policy_body, pull_granted)

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_service_id_create_record_and_non_unique_names(emu: Emulator) -> None:
    admin = auth(emu)
    first = create_service_id(emu, admin, "build-bot", description="one")
    second = create_service_id(emu, admin, "build-bot", description="two")
    assert re.fullmatch(f"ServiceId-{UUID}", first["id"])
    assert first["iam_id"] == "iam-" + first["id"]
    assert first["id"] != second["id"]
    for field in ("entity_tag", "crn", "locked", "created_at", "modified_at", "account_id", "name", "description"):
        assert field in first
    assert first["crn"].endswith("::serviceid:" + first["id"]) and first["account_id"] == A1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+0000", first["created_at"])
    listed = call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1, "name": "build-bot"}).json()
    assert sorted(s["description"] for s in listed["serviceids"]) == ["one", "two"]
    got = call(emu, "GET", f"/v1/serviceids/{first['id']}", admin)
    assert got.status_code == 200 and got.json()["name"] == "build-bot"
    assert got.headers["ETag"] == first["entity_tag"]
    assert [s["id"] for s in emu.service_ids() if s["name"] == "build-bot"] == [first["id"], second["id"]]


def test_service_id_pagination(emu: Emulator) -> None:
    admin = auth(emu)
    made = {create_service_id(emu, admin, "paged")["id"] for _ in range(5)}
    seen: list[str] = []
    resp = call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1, "name": "paged", "pagesize": 2})
    pages = 0
    while True:
        body = resp.json()
        assert resp.status_code == 200 and body["limit"] == 2
        for field in ("context", "offset", "first"):
            assert field in body
        seen += [s["id"] for s in body["serviceids"]]
        pages += 1
        if "next" not in body or pages >= 5:   # bounded: a broken pagetoken must fail, not loop
            break
        resp = requests.get(body["next"], headers=admin, timeout=10)
    assert pages == 3 and len(seen) == 5 and set(seen) == made
    default = call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1}).json()
    assert default["limit"] == 20 and len(default["serviceids"]) == 12   # 7 fixture service IDs in a1 + 5
    ordered = call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1, "sort": "name", "order": "desc"}).json()
    names = [s["name"] for s in ordered["serviceids"]]
    assert names == sorted(names, reverse=True)
    for bad in ({"pagesize": 0}, {"pagesize": 101}, {"pagetoken": "not-a-token"}, {"sort": "iam_id"}):
        resp = call(emu, "GET", "/v1/serviceids/", admin, params=dict({"account_id": A1}, **bad))
        assert resp.status_code == 400, bad
        assert resp.json()["errors"][0]["code"] and resp.json()["status_code"] == 400
    assert call(emu, "GET", "/v1/serviceids/", admin).status_code == 400   # account_id is required


def test_service_id_update_needs_if_match(emu: Emulator) -> None:
    admin = auth(emu)
    sid = create_service_id(emu, admin, "to-rename")
    path = f"/v1/serviceids/{sid['id']}"
    missing = call(emu, "PUT", path, admin, json={"name": "renamed"})
    assert missing.status_code == 428 and missing.json()["errors"][0]["code"] == "missing_if_match"
    stale = call(emu, "PUT", path, dict(admin, **{"If-Match": "1-" + "0" * 32}), json={"name": "renamed"})
    assert stale.status_code == 412
    good = call(emu, "PUT", path, dict(admin, **{"If-Match": sid["entity_tag"]}), json={"name": "renamed"})
    assert good.status_code == 200 and good.json()["name"] == "renamed"
    assert good.json()["entity_tag"] != sid["entity_tag"]
    again = call(emu, "PUT", path, dict(admin, **{"If-Match": sid["entity_tag"]}), json={"name": "lost update"})
    assert again.status_code == 412
    star = call(emu, "PUT", path, dict(admin, **{"If-Match": "*"}), json={"description": "any version"})
    assert star.status_code == 200 and star.json()["name"] == "renamed"


def test_lock_protects_from_change_and_delete_removes_keys(emu: Emulator) -> None:
    admin = auth(emu)
    sid = create_service_id(emu, admin, "lockable")
    key = create_apikey(emu, admin, sid["iam_id"], "lockable-key")
    path = f"/v1/serviceids/{sid['id']}"
    assert call(emu, "POST", path + "/lock", admin).status_code == 204
    record = call(emu, "GET", path, admin).json()
    assert record["locked"] is True
    assert call(emu, "PUT", path, dict(admin, **{"If-Match": "*"}), json={"name": "x"}).status_code == 409
    assert call(emu, "DELETE", path, admin).status_code == 409
    assert iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key["apikey"]}).status_code == 200   # still logs in
    assert call(emu, "DELETE", path + "/lock", admin).status_code == 204
    assert call(emu, "DELETE", path, admin).status_code == 204
    assert call(emu, "GET", path, admin).status_code == 404
    assert call(emu, "GET", f"/v1/apikeys/{key['id']}", admin).status_code == 404
    assert iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key["apikey"]}).status_code == 400
    assert all(s["id"] != sid["id"] for s in emu.service_ids())


def test_apikey_value_only_on_create(emu: Emulator) -> None:
    admin = auth(emu)
    created = create_apikey(emu, admin, READER_IAM_ID, "ci-key", description="for CI")
    value = created["apikey"]
    assert len(value) >= 32 and re.fullmatch(f"ApiKey-{UUID}", created["id"])
    got = call(emu, "GET", f"/v1/apikeys/{created['id']}", admin)
    assert got.status_code == 200 and "apikey" not in got.json() and value not in got.text
    assert got.json()["name"] == "ci-key" and got.json()["iam_id"] == READER_IAM_ID
    listed = call(emu, "GET", "/v1/apikeys", admin, params={"account_id": A1, "iam_id": READER_IAM_ID})
    assert created["id"] in [k["id"] for k in listed.json()["apikeys"]] and value not in listed.text
    details = call(emu, "GET", "/v1/apikeys/details", dict(admin, **{"IAM-ApiKey": value}))
    assert details.status_code == 200 and details.json()["id"] == created["id"] and details.json()["name"] == "ci-key"
    assert value not in details.text
    assert value not in str(emu.apikeys())
    stored = create_apikey(emu, admin, READER_IAM_ID, "stored", store_value=True)
    again = call(emu, "GET", f"/v1/apikeys/{stored['id']}", admin).json()
    assert again["apikey"] == stored["apikey"]
    user_store = call(emu, "POST", "/v1/apikeys", admin, json={"name": "u", "iam_id": "IBMid-6950003ABC", "store_value": True})
    assert user_store.status_code == 400
    duplicate = call(emu, "POST", "/v1/apikeys", admin, json={"name": "d", "iam_id": READER_IAM_ID, "apikey": value})
    assert duplicate.status_code == 400 and value not in duplicate.text


def test_apikey_list_pagination(emu: Emulator) -> None:
    admin = auth(emu)
    sid = create_service_id(emu, admin, "many-keys")
    made = {create_apikey(emu, admin, sid["iam_id"], f"k{i}")["id"] for i in range(3)}
    first = call(emu, "GET", "/v1/apikeys", admin, params={"account_id": A1, "iam_id": sid["iam_id"], "pagesize": 2}).json()
    assert len(first["apikeys"]) == 2 and "next" in first
    second = requests.get(first["next"], headers=admin, timeout=10).json()
    assert "next" not in second and {k["id"] for k in first["apikeys"] + second["apikeys"]} == made
    account = call(emu, "GET", "/v1/apikeys", admin, params={"account_id": A1, "scope": "account", "pagesize": 100}).json()
    assert made <= {k["id"] for k in account["apikeys"]}
    assert "svc-other-account" not in [k["name"] for k in account["apikeys"]]


def test_new_key_follows_disable_delete_in_the_realm(emu: Emulator) -> None:
    admin = auth(emu)
    key = create_apikey(emu, admin, READER_IAM_ID, "realm-key")
    value, path = key["apikey"], f"/v1/apikeys/{key['id']}"
    assert pull_granted(emu, value) is True
    assert call(emu, "POST", path + "/disable", admin).status_code == 204
    assert call(emu, "GET", path, admin).json()["disabled"] is True
    assert pull_granted(emu, value) is None
    assert iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": value}).json()["errorCode"] == "BXNIM0416E"
    assert call(emu, "DELETE", path + "/disable", admin).status_code == 204
    assert pull_granted(emu, value) is True
    assert call(emu, "POST", path + "/lock", admin).status_code == 204
    assert pull_granted(emu, value) is True   # locked keys still log in (Entity-Lock only blocks changes)
    assert call(emu, "DELETE", path, admin).status_code == 409
    assert call(emu, "PUT", path, dict(admin, **{"If-Match": "*"}), json={"name": "x"}).status_code == 409
    assert call(emu, "DELETE", path + "/lock", admin).status_code == 204
    assert call(emu, "DELETE", path, admin).status_code == 204
    assert pull_granted(emu, value) is None
    assert iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": value}).json()["errorCode"] == "BXNIM0415E"


def test_apikey_update_if_match_and_expiry(emu: Emulator) -> None:
    admin = auth(emu)
    key = create_apikey(emu, admin, READER_IAM_ID, "expiring", expires_at="2099-01-01T00:00+0000")
    assert key["expires_at"] == "2099-01-01T00:00+0000"
    assert pull_granted(emu, key["apikey"]) is True
    path = f"/v1/apikeys/{key['id']}"
    assert call(emu, "PUT", path, admin, json={"expires_at": "2020-01-01T00:00+0000"}).status_code == 428
    assert call(emu, "PUT", path, dict(admin, **{"If-Match": "9-" + "a" * 32}), json={"name": "n"}).status_code == 412
    put = call(emu, "PUT", path, dict(admin, **{"If-Match": key["entity_tag"]}), json={"expires_at": "2020-01-01T00:00+0000"})
    assert put.status_code == 200 and put.json()["expires_at"] == "2020-01-01T00:00+0000" and "apikey" not in put.json()
    assert pull_granted(emu, key["apikey"]) is None
    assert iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key["apikey"]}).status_code == 400
    expired = create_apikey(emu, admin, READER_IAM_ID, "born-expired", expires_at="2001-01-01T00:00+0000")
    assert pull_granted(emu, expired["apikey"]) is None
    bad = call(emu, "POST", "/v1/apikeys", admin, json={"name": "b", "iam_id": READER_IAM_ID, "expires_at": "2030-01-01"})
    assert bad.status_code == 400 and "yyyy-MM-ddTHH:mm+0000" in bad.json()["errors"][0]["message"]


def test_service_id_with_apikey_and_policy_pulls(emu: Emulator) -> None:
    admin = auth(emu)
    sid = create_service_id(emu, admin, "puller", apikey={"name": "puller-key"})
    value = sid["apikey"]["apikey"]
    assert pull_granted(emu, value) is False   # logs in, no access yet
    assert call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"])).status_code == 201
    assert pull_granted(emu, value) is True
    assert "apikey" not in call(emu, "GET", f"/v1/serviceids/{sid['id']}", admin).json()


def test_identity_api_needs_a_token_and_access(emu: Emulator) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        resp = call(emu, "GET", "/v1/serviceids/", headers, params={"account_id": A1})
        assert resp.status_code == 401
        assert set(resp.json()) >= {"context", "trace", "errors", "status_code"}
    nopolicy = auth(emu, "svc-nopolicy")
    denied = call(emu, "GET", "/v1/serviceids/", nopolicy, params={"account_id": A1})
    assert denied.status_code == 403 and denied.json()["errors"][0]["code"] == "insufficient_permissions"
    assert call(emu, "POST", "/v1/apikeys", nopolicy, json={"name": "x", "iam_id": READER_IAM_ID}).status_code == 403
    other = auth(emu, "svc-other-account")
    assert call(emu, "GET", "/v1/serviceids/", other, params={"account_id": A1}).status_code == 403
    admin = auth(emu)
    viewer = call(emu, "POST", "/v1/policies", admin, json=policy_body(NOPOLICY_IAM_ID, "Viewer", service="iam-identity"))
    assert viewer.status_code == 201
    assert call(emu, "GET", "/v1/serviceids/", nopolicy, params={"account_id": A1}).status_code == 200
    assert call(emu, "POST", "/v1/serviceids/", nopolicy, json={"account_id": A1, "name": "n"}).status_code == 403
    assert call(emu, "POST", "/v1/policies", admin, json=policy_body(NOPOLICY_IAM_ID, "Editor", service="iam-identity")).status_code == 201
    assert call(emu, "POST", "/v1/serviceids/", nopolicy, json={"account_id": A1, "name": "n"}).status_code == 201


def test_identity_counters_and_faults(emu: Emulator) -> None:
    admin = auth(emu)
    emu.inject_fault("identity_serviceids", status=429, retry_after=2)
    emu.inject_fault("identity_apikeys", status=503)
    first = call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1})
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert first.json()["errors"][0]["code"] == "EMULATOR_FAULT"
    assert call(emu, "GET", "/v1/serviceids/", admin, params={"account_id": A1}).status_code == 200
    assert call(emu, "GET", "/v1/apikeys", admin).status_code == 503
    assert call(emu, "GET", "/v1/apikeys", admin).status_code == 200
    counters = emu.counters()
    assert counters["identity_serviceids"] == 2 and counters["identity_apikeys"] == 2
    assert counters["faults_served"] == 2


def test_request_log_holds_no_key_or_token(state_dir: str) -> None:
    log = io.StringIO()
    with Emulator(state_dir=state_dir, log_stream=log) as emu:
        admin = auth(emu)
        token = admin["Authorization"].split()[1]
        key = create_apikey(emu, admin, READER_IAM_ID, "logged")
        sid = create_service_id(emu, admin, "logged-sid", apikey={"name": "inner", "store_value": True})
        call(emu, "GET", f"/v1/apikeys/{sid['apikey']['id']}", admin)
        call(emu, "GET", "/v1/apikeys/details", dict(admin, **{"IAM-ApiKey": key["apikey"]}))
        pull_granted(emu, key["apikey"])
    text = log.getvalue()
    assert "POST /v1/apikeys" in text and "POST /v1/serviceids/" in text
    for secret in (key["apikey"], sid["apikey"]["apikey"], token, emu.apikey("user-admin")):
        assert secret not in text


def test_reset_restores_the_fixture(emu: Emulator) -> None:
    admin = auth(emu)
    key = create_apikey(emu, admin, READER_IAM_ID, "temporary")
    sid = create_service_id(emu, admin, "temporary")
    reader = [k for k in emu.apikeys() if k["name"] == "svc-reader"][0]
    assert call(emu, "POST", f"/v1/apikeys/{reader['id']}/disable", admin).status_code == 204
    assert pull_granted(emu, emu.apikey("svc-reader")) is None
    emu.reset()
    assert pull_granted(emu, emu.apikey("svc-reader")) is True
    assert pull_granted(emu, key["apikey"]) is None
    assert all(s["id"] != sid["id"] for s in emu.service_ids())
    admin_page = requests.get(emu.url + "/_emulator/service-ids", timeout=10).json()
    assert len(admin_page) == len(emu.service_ids()) == 8


def test_refresh_token_of_a_deleted_key_stops(emu: Emulator) -> None:
    admin = auth(emu)
    key = create_apikey(emu, admin, READER_IAM_ID, "cli-key")
    login = iam_token(emu, {"grant_type": APIKEY_GRANT, "apikey": key["apikey"]}, auth=("bx", "bx")).json()
    refresh = login["refresh_token"]
    assert iam_token(emu, {"grant_type": "refresh_token", "refresh_token": refresh}, auth=("bx", "bx")).status_code == 200
    assert call(emu, "DELETE", f"/v1/apikeys/{key['id']}", admin).status_code == 204
    gone = iam_token(emu, {"grant_type": "refresh_token", "refresh_token": refresh}, auth=("bx", "bx"))
    assert gone.status_code == 400 and gone.json()["errorCode"] == "BXNIM0407E"


def test_concurrent_changes_are_not_lost(emu: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor
    admin = auth(emu)

    def one(index: int) -> tuple[str, str]:
        sid = create_service_id(emu, admin, f"parallel-{index}", apikey={"name": "k"})
        resp = call(emu, "POST", "/v1/policies", admin, json=policy_body(sid["iam_id"]))
        assert resp.status_code == 201, resp.text
        return sid["id"], sid["apikey"]["apikey"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(one, range(16)))
    ids = {s["id"] for s in emu.service_ids()}
    assert all(sid in ids for sid, _value in made)
    assert all(pull_granted(emu, value) is True for _sid, value in made)
    assert emu.counters()["identity_serviceids"] == 16 and emu.counters()["policies"] == 16
