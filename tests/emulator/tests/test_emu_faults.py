"""Fault injection (Python API and admin HTTP), counters under concurrency, admin endpoints."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from emu_helpers import apikey_login, realm_token

from icr_emulator import Emulator

SCOPE = "repository:team-a/app:pull"


def test_429_with_retry_after_then_success(emu: Emulator) -> None:
    emu.inject_fault("iam_token", status=429, retry_after=2)
    first = apikey_login(emu, "svc-reader")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "2"
    assert first.json()["errorCode"] == "EMULATOR_FAULT"
    assert "context" in first.json()
    second = apikey_login(emu, "svc-reader")
    assert second.status_code == 200 and "access_token" in second.json()
    counters = emu.counters()
    assert (counters["iam_token"], counters["iam_token_apikey"], counters["iam_token_issued"], counters["faults_served"]) == (2, 2, 1, 1)


def test_500_count(emu: Emulator) -> None:
    emu.inject_fault("iam_token", status=500, count=3)
    statuses = [apikey_login(emu, "svc-reader").status_code for _attempt in range(4)]
    assert statuses == [500, 500, 500, 200]
    assert emu.counters()["faults_served"] == 3


def test_faults_queue_in_order(emu: Emulator) -> None:
    emu.inject_fault("registry_token", status=503)
    emu.inject_fault("registry_token", status=502, count=2)
    statuses = [realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE).status_code for _attempt in range(4)]
    assert statuses == [503, 502, 502, 200]


def test_registry_fault_body(emu: Emulator) -> None:
    emu.inject_fault("registry_token", status=429, retry_after=1.5)
    resp = realm_token(emu, "iamapikey", emu.apikey("svc-reader"), SCOPE)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "1.5"
    assert resp.json()["errors"][0]["code"] == "TOOMANYREQUESTS"


def test_delay_then_normal_answer(emu: Emulator) -> None:
    emu.inject_fault("iam_token", delay=0.4)
    started = time.monotonic()
    resp = apikey_login(emu, "svc-reader")
    assert time.monotonic() - started >= 0.4
    assert resp.status_code == 200


def test_delay_times_out_client(emu: Emulator) -> None:
    emu.inject_fault("registry_v2", delay=0.6, status=503)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(emu.url + "/v2/", timeout=0.2)
    time.sleep(0.5)
    assert requests.get(emu.url + "/v2/", timeout=5).status_code == 401


def test_malformed_body(emu: Emulator) -> None:
    emu.inject_fault("iam_token", body="malformed")
    resp = apikey_login(emu, "svc-reader")
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()


def test_truncated_body(emu: Emulator) -> None:
    emu.inject_fault("iam_token", body="truncated")
    resp = apikey_login(emu, "svc-reader")
    assert resp.status_code == 200
    assert resp.text.startswith('{"access_token":"')
    with pytest.raises(ValueError):
        json.loads(resp.text)


def test_empty_body(emu: Emulator) -> None:
    emu.inject_fault("identity_keys", body="empty", status=200)
    resp = requests.get(emu.url + "/identity/keys", timeout=10)
    assert resp.status_code == 200 and resp.content == b""
    assert requests.get(emu.url + "/identity/keys", timeout=10).json()["keys"]


def test_fault_on_v2(emu: Emulator) -> None:
    emu.inject_fault("registry_v2", status=502)
    assert requests.get(emu.url + "/v2/", timeout=10).status_code == 502
    assert requests.get(emu.url + "/v2/", timeout=10).status_code == 401


@pytest.mark.parametrize("kwargs", [
    {"endpoint": "nope", "status": 500},
    {"endpoint": "iam_token"},
    {"endpoint": "iam_token", "status": 99},
    {"endpoint": "iam_token", "status": 500, "count": 0},
    {"endpoint": "iam_token", "body": "garbage"},
    {"endpoint": "iam_token", "delay": -1},
])
def test_fault_validation(emu: Emulator, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        emu.inject_fault(**kwargs)
    resp = requests.post(emu.url + "/_emulator/faults", json=kwargs, timeout=10)
    assert resp.status_code == 400 and resp.json()["error"]


def test_admin_http(emu: Emulator) -> None:
    base = emu.url + "/_emulator"
    assert requests.get(base + "/health", timeout=10).json()["status"] == "ok"
    resp = requests.post(base + "/faults", json={"endpoint": "iam_token", "status": 503, "count": 2, "retry_after": 1}, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["pending"] == [{"endpoint": "iam_token", "status": 503, "count": 2, "retry_after": 1, "delay": None, "body": None,
                                       "retry_after_form": "seconds"}]
    assert apikey_login(emu, "svc-reader").status_code == 503
    assert requests.get(base + "/counters", timeout=10).json()["iam_token"] == 1
    assert requests.post(base + "/revoke", json={"name": "svc-reader"}, timeout=10).status_code == 200
    assert requests.post(base + "/revoke", json={"name": "no-such-key"}, timeout=10).status_code == 404
    assert apikey_login(emu, "svc-reader").status_code == 503  # second fault still pending
    assert apikey_login(emu, "svc-reader").json()["errorCode"] == "BXNIM0415E"
    lifetimes = requests.post(base + "/lifetimes", json={"access_token_lifetime": 1200}, timeout=10).json()
    assert lifetimes["access_token_lifetime"] == 1200
    assert requests.post(base + "/lifetimes", json={"bogus": 1}, timeout=10).status_code == 400
    assert requests.post(base + "/reset", timeout=10).json() == {"ok": True}
    assert set(requests.get(base + "/counters", timeout=10).json().values()) == {0}
    assert apikey_login(emu, "svc-reader").json()["expires_in"] == 1200
    info = requests.get(base + "/info", timeout=10).json()
    assert info["registry_cert"] == emu.registry_cert_path and info["realm"] == emu.url + "/oauth/token"
    assert requests.get(base + "/nothing", timeout=10).status_code == 404
    assert emu.counters()["iam_token"] == 1  # admin calls are not counted


def test_counters_exact_under_concurrency(emu: Emulator) -> None:
    emu.inject_fault("iam_token", status=500, count=5)

    def work(i: int) -> tuple[int, int]:
        with requests.Session() as session:
            iam = session.post(emu.url + "/identity/token", timeout=10, data={
                "grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": emu.apikey("svc-writer" if i % 2 else "svc-reader")})
            realm = session.get(emu.url + "/oauth/token", params={"service": "registry", "scope": SCOPE}, timeout=10,
                                auth=("iamapikey", emu.apikey("svc-reader")))
            session.get(emu.url + "/v2/", timeout=10)
        return iam.status_code, realm.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(work, range(20)))
    assert sorted(r[0] for r in results) == [200] * 15 + [500] * 5
    assert all(r[1] == 200 for r in results)
    counters = emu.counters()
    assert counters["iam_token"] == counters["iam_token_apikey"] == 20
    assert counters["iam_token_issued"] == 15
    assert counters["faults_served"] == 5
    assert counters["registry_token"] == counters["registry_token_iamapikey"] == counters["registry_token_issued"] == 20
    assert counters["registry_v2"] == 20


def test_unknown_path_counted(emu: Emulator) -> None:
    assert requests.get(emu.url + "/nothing/here", timeout=10).status_code == 404
    assert emu.counters()["not_found"] == 1
