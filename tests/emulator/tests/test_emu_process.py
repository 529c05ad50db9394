"""The emulator as a process (CLI, ready file, SIGTERM, secret-free log), TLS, and startup time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from emu_helpers import APIKEY_GRANT, BX

from icr_emulator import Emulator, load_fixture

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for_file(path: str, proc: subprocess.Popen, timeout: float = 10.0) -> dict:
    """The parsed ready file, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        if proc.poll() is not None:
            raise AssertionError(f"emulator exited early: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError("no ready file")


def test_cli_ready_file_and_sigterm(tmp_path) -> None:
    ready = str(tmp_path / "ready.json")
    state = str(tmp_path / "state")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "icr_emulator", "--ready-file", ready, "--state-dir", state],
                            cwd=EMULATOR_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = wait_for_file(ready, proc)
        assert time.monotonic() - started < 5
        assert info["pid"] == proc.pid
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["registry_cert"] == os.path.join(state, "registry-token-cert.pem") and os.path.exists(info["registry_cert"])
        keys = {k.name: k.value for k in load_fixture().apikeys}
        token = requests.post(info["url"] + "/identity/token", auth=BX, timeout=10,
                              data={"grant_type": APIKEY_GRANT, "apikey": keys["svc-writer"]}).json()
        secrets = [keys["svc-writer"], keys["svc-reader"], token["access_token"], token["refresh_token"]]
        for user, password in (("iamapikey", keys["svc-reader"]), ("iambearer", token["access_token"]), ("iamrefresh", token["refresh_token"])):
            resp = requests.get(info["url"] + "/oauth/token", params={"service": "registry", "scope": "repository:team-a/x:pull"},
                                auth=(user, password), timeout=10)
            assert resp.status_code == 200
        requests.get(info["url"] + "/v2/", headers={"Authorization": "Bearer " + resp.json()["token"]}, timeout=10)
        requests.get(info["url"] + "/oauth/token?apikey=" + keys["svc-reader"], timeout=10)
        counters = requests.get(info["url"] + "/_emulator/counters", timeout=10).json()
        assert counters["iam_token"] == 1 and counters["registry_token"] == 4 and counters["registry_v2"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not os.path.exists(ready)
    request_lines = [line for line in err.splitlines() if '"GET ' in line or '"POST ' in line]
    assert len(request_lines) == 7, err
    for secret in secrets + [resp.json()["token"]]:
        assert secret not in err
    assert "?" not in "".join(request_lines)


def test_cli_sigint_and_bad_fixture(tmp_path) -> None:
    ready = str(tmp_path / "ready.json")
    proc = subprocess.Popen([sys.executable, "-m", "icr_emulator", "--ready-file", ready, "--quiet"], cwd=EMULATOR_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_file(ready, proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"accounts": {"a1": {"id": "nothex"}}}')
    result = subprocess.run([sys.executable, "-m", "icr_emulator", "--fixture", str(bad)], cwd=EMULATOR_DIR,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "32 lowercase hex" in result.stderr


def test_startup_time(tmp_path) -> None:
    started = time.monotonic()
    emu = Emulator(state_dir=str(tmp_path / "fresh")).start()  # generates both keys
    try:
        requests.get(emu.url + "/_emulator/health", timeout=5).raise_for_status()
        assert time.monotonic() - started < 2.0
    finally:
        emu.stop()


def test_temp_state_dir_removed() -> None:
    emu = Emulator().start()
    cert = emu.registry_cert_path
    assert os.path.exists(cert)
    emu.stop()
    assert not os.path.exists(os.path.dirname(cert))


def test_state_dir_keys_are_reused(state_dir: str, session_emu: Emulator) -> None:
    with Emulator(state_dir=state_dir) as emu:
        assert emu.registry_signer.kid == session_emu.registry_signer.kid
        assert emu.registry_cert_path == session_emu.registry_cert_path
    assert oct(os.stat(os.path.join(state_dir, "registry-token-key.pem")).st_mode & 0o777) == "0o600"


def test_tls_with_trustme(tmp_path, state_dir: str) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_path, key_path, ca_path = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), str(tmp_path / "ca.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(cert_path)
    cert.private_key_pem.write_to_path(key_path)
    ca.cert_pem.write_to_path(ca_path)
    with Emulator(state_dir=state_dir, tls_cert=cert_path, tls_key=key_path) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        resp = requests.post(emu.url + "/identity/token", verify=ca_path, timeout=10,
                             data={"grant_type": APIKEY_GRANT, "apikey": emu.apikey("svc-reader")})
        assert resp.status_code == 200
        assert resp.json()["access_token"]
        challenge = requests.get(emu.url + "/v2/", verify=ca_path, timeout=10)
        assert challenge.headers["WWW-Authenticate"].startswith(f'Bearer realm="{emu.url}/oauth/token"')
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(emu.url + "/v2/", timeout=10)  # system CAs do not know the trustme CA
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(emu.url.replace("https://", "http://") + "/v2/", timeout=5)
        assert requests.get(emu.url + "/_emulator/health", verify=ca_path, timeout=10).json()["status"] == "ok"
        assert emu.counters()["iam_token"] == 1
