"""Real skopeo, podman and docker against the token-auth registry, credentials only from files."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from icr_infra import (
    DEBIAN_DOCKER,
    Dockerd,
    Podman,
    Registry,
    SelfTestRealm,
    skopeo_inspect,
    skopeo_pull,
    skopeo_push,
    write_auth_file,
    write_oci_layout,
)

pytestmark = pytest.mark.needs_root

AUTH_REFUSED = ("unauthorized", "invalid username/password", "authentication required")


def _refused(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in AUTH_REFUSED)


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    with Dockerd() as daemon:
        yield daemon


@pytest.fixture()
def podman() -> Iterator[Podman]:
    with Podman() as client:
        yield client


# --- skopeo -------------------------------------------------------------------------------------------------------
def test_skopeo_push_then_inspect_with_reader(pushed: Any, registry: Registry) -> None:
    result = skopeo_inspect(pushed.ref, authfile=pushed.reader_auth)
    assert result.rc == 0, result.stderr
    assert json.loads(result.stdout)["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert "team-a/hello" in registry.log_text()


def test_skopeo_pull_back_keeps_the_manifest(pushed: Any, tmp_path: Path) -> None:
    result = skopeo_pull(pushed.ref, str(tmp_path / "back"), "copy", authfile=pushed.reader_auth)
    assert result.rc == 0, result.stderr
    index = json.loads((tmp_path / "back" / "index.json").read_text(encoding="utf-8"))
    assert [m["digest"] for m in index["manifests"]] == [pushed.digest]


def test_skopeo_reads_registry_auth_file_and_docker_config(realm: SelfTestRealm, registry: Registry, layout: tuple[str, str], tmp_path: Path) -> None:
    auth = write_auth_file(str(tmp_path / "containers" / "auth.json"), {registry.host: (realm.writer, realm.writer_secret)})
    result = skopeo_push(layout[0], "v1", f"{registry.host}/team-a/via-env:v1", env={"REGISTRY_AUTH_FILE": auth})
    assert result.rc == 0, result.stderr
    docker_dir = tmp_path / "docker"
    write_auth_file(str(docker_dir / "config.json"), {registry.host: (realm.writer, realm.writer_secret)})
    result = skopeo_push(layout[0], "v1", f"{registry.host}/team-a/via-docker-config:v1", env={"DOCKER_CONFIG": str(docker_dir)})
    assert result.rc == 0, result.stderr


def test_skopeo_reader_cannot_push(pushed: Any, registry: Registry, layout: tuple[str, str]) -> None:
    result = skopeo_push(layout[0], "v1", f"{registry.host}/team-a/reader-push:v1", authfile=pushed.reader_auth)
    assert result.rc != 0 and "denied: requested access to the resource is denied" in result.stderr, result.stderr


def test_skopeo_wrong_or_missing_credential_is_refused(pushed: Any, registry: Registry, layout: tuple[str, str], tmp_path: Path) -> None:
    push = skopeo_push(layout[0], "v1", f"{registry.host}/team-a/wrong:v1", authfile=pushed.wrong_auth)
    inspect = skopeo_inspect(pushed.ref, authfile=pushed.wrong_auth)
    empty = write_auth_file(str(tmp_path / "empty.json"), {})
    anonymous = skopeo_inspect(pushed.ref, authfile=empty)
    for result in (push, inspect, anonymous):
        assert result.rc != 0 and _refused(result.stderr), result.stderr
    assert "invalid username/password" in push.stderr


@pytest.mark.slow
def test_skopeo_tls_cert_dir_and_wrong_ca(realm: SelfTestRealm, layout: tuple[str, str], tmp_path: Path) -> None:
    with Registry(realm.realm_url, realm.issuer, realm.rootcertbundle, tls=True) as reg:
        assert reg.cert_dir is not None
        auth = write_auth_file(str(tmp_path / "auth.json"), {reg.host: (realm.writer, realm.writer_secret)})
        ok = skopeo_push(layout[0], "v1", f"{reg.host}/team-a/tls:v1", authfile=auth, cert_dir=reg.cert_dir)
        assert ok.rc == 0, ok.stderr
        wrong_dir = tmp_path / "wrong-ca"
        wrong_dir.mkdir()
        trustme.CA().cert_pem.write_to_path(str(wrong_dir / "ca.crt"))
        wrong = skopeo_push(layout[0], "v1", f"{reg.host}/team-a/tls:v2", authfile=auth, cert_dir=str(wrong_dir))
        assert wrong.rc != 0 and "x509" in wrong.stderr, wrong.stderr
        system_cas = skopeo_inspect(f"{reg.host}/team-a/tls:v1", authfile=auth, tls_verify=True)
        assert system_cas.rc != 0 and "x509" in system_cas.stderr, system_cas.stderr
        with Podman() as client:
            pulled = client.pull(f"{reg.host}/team-a/tls:v1", authfile=auth, cert_dir=reg.cert_dir)
            assert pulled.rc == 0, pulled.stderr


# --- podman -------------------------------------------------------------------------------------------------------
def test_podman_pull_with_authfile(pushed: Any, podman: Podman) -> None:
    result = podman.pull(pushed.ref, authfile=pushed.reader_auth)
    assert result.rc == 0, result.stderr
    assert podman.image_exists(pushed.ref)


def test_podman_pull_with_registry_auth_file_env(pushed: Any, podman: Podman) -> None:
    result = podman.pull(pushed.ref, env={"REGISTRY_AUTH_FILE": pushed.reader_auth})
    assert result.rc == 0, result.stderr


def test_podman_wrong_credential_is_refused(pushed: Any, podman: Podman) -> None:
    result = podman.pull(pushed.ref, authfile=pushed.wrong_auth)
    assert result.rc != 0 and "invalid username/password" in result.stderr, result.stderr
    assert not podman.image_exists(pushed.ref)


def test_podman_storage_is_private_and_removed(pushed: Any) -> None:
    client = Podman().start()
    root = client.dir
    assert root is not None and client.pull(pushed.ref, authfile=pushed.reader_auth).rc == 0
    client.stop()
    assert not os.path.exists(root)


# --- dockerd + docker CLI -----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("docker_bin", ["docker", DEBIAN_DOCKER], ids=["cli-path", "cli-debian"])
def test_docker_pull_with_docker_config(pushed: Any, registry: Registry, realm: SelfTestRealm, dockerd: Dockerd,
                                        tmp_path: Path, docker_bin: str) -> None:
    config_dir = tmp_path / "docker"
    write_auth_file(str(config_dir / "config.json"), {registry.host: (realm.reader, realm.reader_secret)})
    dockerd.remove_image(pushed.ref)
    result = dockerd.pull(pushed.ref, docker_config=str(config_dir), docker_bin=docker_bin)
    assert result.rc == 0, result.stderr
    assert dockerd.image_exists(pushed.ref)
    dockerd.remove_image(pushed.ref)


@pytest.mark.slow
@pytest.mark.parametrize("docker_bin", ["docker", DEBIAN_DOCKER], ids=["cli-path", "cli-debian"])
def test_docker_wrong_or_missing_credential_is_refused(pushed: Any, registry: Registry, realm: SelfTestRealm, dockerd: Dockerd,
                                                       tmp_path: Path, docker_bin: str) -> None:
    wrong_dir = tmp_path / "wrong"
    write_auth_file(str(wrong_dir / "config.json"), {registry.host: (realm.reader, "not-the-secret")})
    empty_dir = tmp_path / "empty"
    write_auth_file(str(empty_dir / "config.json"), {})
    dockerd.remove_image(pushed.ref)
    wrong = dockerd.pull(pushed.ref, docker_config=str(wrong_dir), docker_bin=docker_bin)
    assert wrong.rc != 0 and "invalid username/password" in wrong.stderr, wrong.stderr
    anonymous = dockerd.pull(pushed.ref, docker_config=str(empty_dir), docker_bin=docker_bin)
    assert anonymous.rc != 0 and "denied" in anonymous.stderr, anonymous.stderr
    assert not dockerd.image_exists(pushed.ref)


@pytest.mark.slow
def test_dockerd_is_private_and_cleaned_up(registry: Registry, realm: SelfTestRealm, layout: tuple[str, str], tmp_path: Path) -> None:
    write_oci_layout(layout[0], "v9", content=b"nine\n")
    auth = write_auth_file(str(tmp_path / "docker" / "config.json"), {registry.host: (realm.writer, realm.writer_secret)})
    assert skopeo_push(layout[0], "v9", f"{registry.host}/team-a/nine:v9", authfile=auth).rc == 0
    daemon = Dockerd().start()
    directory, pid = daemon.dir, daemon.pid
    assert directory and pid and daemon.socket_path.startswith(directory)
    assert daemon.startup_seconds is not None and daemon.startup_seconds < 30
    assert daemon.pull(f"{registry.host}/team-a/nine:v9", docker_config=str(tmp_path / "docker")).rc == 0
    daemon.stop()
    assert not os.path.exists(directory)
    assert not os.path.exists(f"/proc/{pid}")


@pytest.mark.slow
def test_no_secret_in_argv_or_logs(pushed: Any, registry: Registry, realm: SelfTestRealm, dockerd: Dockerd, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess  # pylint: disable=import-outside-toplevel

    seen: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(args: Any, *a: Any, **kw: Any) -> Any:
        seen.append([str(x) for x in args])
        check = kw.pop("check", False)
        return real_run(args, *a, check=check, **kw)

    monkeypatch.setattr(subprocess, "run", recording_run)
    config_dir = tmp_path / "docker"
    write_auth_file(str(config_dir / "config.json"), {registry.host: (realm.reader, realm.reader_secret)})
    with Podman() as client:
        assert client.pull(pushed.ref, authfile=pushed.reader_auth).rc == 0
    assert skopeo_inspect(pushed.ref, authfile=pushed.writer_auth).rc == 0
    dockerd.remove_image(pushed.ref)
    assert dockerd.pull(pushed.ref, docker_config=str(config_dir)).rc == 0
    assert len(seen) >= 3
    for secret in (realm.reader_secret, realm.writer_secret):
        assert not any(secret in arg for argv in seen for arg in argv)
        assert secret not in registry.log_text()
        assert secret not in Path(dockerd.log_path).read_text(encoding="utf-8", errors="replace")
