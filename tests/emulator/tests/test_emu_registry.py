"""Against the real CNCF distribution registry (Debian docker-registry), when it is installed."""
from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
from typing import Iterator

import pytest
import requests
from emu_helpers import realm_token

from icr_emulator import Emulator

REGISTRY = shutil.which("docker-registry") or shutil.which("registry")
pytestmark = pytest.mark.skipif(REGISTRY is None, reason="docker-registry (CNCF distribution) is not installed")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, session_emu: Emulator) -> Iterator[str]:
    """A distribution registry whose token auth trusts the session emulator."""
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = root / "config.yml"
    config.write_text(f"""version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}/data
http:
  addr: 127.0.0.1:{port}
  secret: icr-emulator-test-secret
auth:
  token:
    realm: {session_emu.url}/oauth/token
    service: registry
    issuer: icr-emulator
    rootcertbundle: {session_emu.registry_cert_path}
""")
    proc = subprocess.Popen([str(REGISTRY), "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(200):
            try:
                requests.get(base + "/v2/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.025)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bearer(emu: Emulator, key: str, scope: str) -> dict[str, str]:
    """Authorization header with a registry token for a fixture key."""
    return {"Authorization": "Bearer " + realm_token(emu, "iamapikey", emu.apikey(key), scope).json()["token"]}


def push_blob(base: str, repo: str, data: bytes, headers: dict[str, str]) -> str:
    """Monolithic blob upload; returns the digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = requests.post(f"{base}/v2/{repo}/blobs/uploads/", headers=headers, timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    location = location if location.startswith("http") else base + location
    sep = "&" if "?" in location else "?"
    done = requests.put(f"{location}{sep}digest={digest}", data=data, timeout=10,
                        headers={**headers, "Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest


def test_registry_challenge_points_to_emulator(registry: str, emu: Emulator) -> None:
    resp = requests.get(registry + "/v2/", timeout=10)
    assert resp.status_code == 401
    assert f'realm="{emu.url}/oauth/token"' in resp.headers["WWW-Authenticate"]
    ok = requests.get(registry + "/v2/", headers=bearer(emu, "svc-nopolicy", ""), timeout=10)
    assert ok.status_code == 200


def test_push_with_writer_pull_with_reader(registry: str, emu: Emulator) -> None:
    repo = "team-a/hello"
    writer = bearer(emu, "svc-writer", f"repository:{repo}:pull,push")
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = b"not really a tarball"
    config_digest = push_blob(registry, repo, config, writer)
    layer_digest = push_blob(registry, repo, layer, writer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }).encode()
    put = requests.put(f"{registry}/v2/{repo}/manifests/v1", data=manifest, timeout=10,
                       headers={**writer, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert put.status_code == 201, put.text
    reader = bearer(emu, "svc-reader", f"repository:{repo}:pull,push")
    got = requests.get(f"{registry}/v2/{repo}/manifests/v1", timeout=10,
                       headers={**reader, "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert got.status_code == 200 and got.content == manifest
    denied = requests.post(f"{registry}/v2/{repo}/blobs/uploads/", headers=reader, timeout=10)
    assert denied.status_code == 401 and 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    nobody = requests.get(f"{registry}/v2/{repo}/manifests/v1", headers=bearer(emu, "svc-other-account", f"repository:{repo}:pull"), timeout=10)
    assert nobody.status_code == 401


def test_registry_rejects_foreign_signer(registry: str, tmp_path) -> None:
    with Emulator(state_dir=str(tmp_path / "other-keys")) as other:
        token = bearer(other, "svc-writer", "repository:team-a/hello:pull")
    assert requests.get(registry + "/v2/", headers=token, timeout=10).status_code == 401


@pytest.mark.parametrize("style", ["jwt", "jwt-echo", "opaque"])
def test_front_enforces_policy_before_the_real_registry(registry: str, emu: Emulator, style: str) -> None:
    """The emulator's /v2/ in front of the real registry: every token style works, and policy holds in each."""
    emu.set_variants(token_style=style)
    emu.set_upstream(registry)
    try:
        front = emu.url
        repo = f"team-a/front-{style}"
        writer = bearer(emu, "svc-writer", f"repository:{repo}:pull,push")
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        config_digest = push_blob(front, repo, config, writer)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
            "layers": [],
        }).encode()
        put = requests.put(f"{front}/v2/{repo}/manifests/v1", data=manifest, timeout=10,
                           headers={**writer, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert put.status_code == 201, put.text
        reader = bearer(emu, "svc-reader", f"repository:{repo}:pull,push")
        got = requests.get(f"{front}/v2/{repo}/manifests/v1", timeout=10,
                           headers={**reader, "Accept": "application/vnd.oci.image.manifest.v1+json"})
        assert got.status_code == 200 and got.content == manifest
        head = requests.head(f"{front}/v2/{repo}/blobs/{config_digest}", headers=reader, timeout=10)
        assert head.status_code == 200 and head.headers["Content-Length"] == str(len(config))
        assert requests.get(f"{front}/v2/{repo}/tags/list", headers=reader, timeout=10).json()["tags"] == ["v1"]
        denied = requests.post(f"{front}/v2/{repo}/blobs/uploads/", headers=reader, timeout=10)
        assert denied.status_code == 401 and 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
        other = bearer(emu, "svc-other-account", f"repository:{repo}:pull")
        assert requests.get(f"{front}/v2/{repo}/manifests/v1", headers=other, timeout=10).status_code == 401
    finally:
        emu.set_upstream(None)
