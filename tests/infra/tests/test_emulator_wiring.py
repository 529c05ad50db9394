"""The real registry behind the project's emulator (tests/emulator/icr_emulator): ICR-style logins end to end."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icr_emulator  # tests/emulator and tests/infra are on sys.path from conftest.py
import pytest
from icr_infra import Dockerd, Podman, Registry, skopeo_inspect, skopeo_push, write_auth_file, write_oci_layout

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with icr_emulator.Emulator() as started:
        yield started


@pytest.fixture(scope="module")
def emu_registry(emu: Any) -> Iterator[Registry]:
    with Registry(f"{emu.url}/oauth/token", "icr-emulator", emu.registry_cert_path, service="registry") as reg:
        yield reg


@pytest.fixture(scope="module")
def emu_layout(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = str(tmp_path_factory.mktemp("emu-oci") / "layout")
    write_oci_layout(directory, "v1", content=b"pushed through the emulator\n")
    return directory


def _auth(path: Path, registry: Registry, username: str, secret: str) -> str:
    return write_auth_file(str(path), {registry.host: (username, secret)})


def test_writer_pushes_reader_pulls_but_cannot_push(emu: Any, emu_registry: Registry, emu_layout: str, tmp_path: Path) -> None:
    writer = _auth(tmp_path / "writer.json", emu_registry, "iamapikey", emu.apikey("svc-writer"))
    reader = _auth(tmp_path / "reader.json", emu_registry, "iamapikey", emu.apikey("svc-reader"))
    ref = f"{emu_registry.host}/team-a/emu:v1"
    before = emu.counters()

    pushed = skopeo_push(emu_layout, "v1", ref, authfile=writer)
    assert pushed.rc == 0, pushed.stderr
    assert emu.counters().get("registry_token", 0) > before.get("registry_token", 0)

    with Podman() as podman:
        pulled = podman.pull(ref, authfile=reader)
        assert pulled.rc == 0, pulled.stderr
        assert podman.image_exists(ref)

    denied = skopeo_push(emu_layout, "v1", f"{emu_registry.host}/team-a/emu-by-reader:v1", authfile=reader)
    assert denied.rc != 0 and "denied" in denied.stderr.lower(), denied.stderr
    assert skopeo_inspect(f"{emu_registry.host}/team-a/emu-by-reader:v1", authfile=writer).rc != 0


def test_wrong_key_and_other_namespace_are_refused(emu: Any, emu_registry: Registry, emu_layout: str, tmp_path: Path) -> None:
    writer = _auth(tmp_path / "writer.json", emu_registry, "iamapikey", emu.apikey("svc-writer"))
    wrong = _auth(tmp_path / "wrong.json", emu_registry, "iamapikey", emu.apikey("svc-writer")[::-1])
    refused = skopeo_push(emu_layout, "v1", f"{emu_registry.host}/team-a/emu-wrong:v1", authfile=wrong)
    # ICR (and the emulator) answer a bad credential at the token realm with 400 Bad Request.
    assert refused.rc != 0 and "400 (Bad Request)" in refused.stderr, refused.stderr
    elsewhere = skopeo_push(emu_layout, "v1", f"{emu_registry.host}/team-b/emu:v1", authfile=writer)
    assert elsewhere.rc != 0 and "denied" in elsewhere.stderr.lower(), elsewhere.stderr


@pytest.mark.slow
def test_docker_pull_with_iamapikey(emu: Any, emu_registry: Registry, emu_layout: str, tmp_path: Path) -> None:
    writer = _auth(tmp_path / "writer.json", emu_registry, "iamapikey", emu.apikey("svc-writer"))
    ref = f"{emu_registry.host}/team-a/emu-docker:v1"
    assert skopeo_push(emu_layout, "v1", ref, authfile=writer).rc == 0
    config_dir = tmp_path / "docker"
    _auth(config_dir / "config.json", emu_registry, "iamapikey", emu.apikey("svc-reader"))
    with Dockerd() as daemon:
        result = daemon.pull(ref, docker_config=str(config_dir))
        assert result.rc == 0, result.stderr
        assert daemon.image_exists(ref)
