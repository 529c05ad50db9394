"""Fixtures for the harness's self-tests: a self-test realm + registry with two users, and an image pushed to it."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

# Import paths of this suite, set up here and nowhere else: tests/infra (icr_infra) and tests/emulator (icr_emulator,
# which icr_infra.tokens and test_emulator_wiring.py use).
_TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _harness in (os.path.join(_TESTS, "infra"), os.path.join(_TESTS, "emulator")):
    if _harness not in sys.path:
        sys.path.insert(0, _harness)

# pylint: disable=wrong-import-position
from icr_infra import Registry, SelfTestRealm, skopeo_push, write_auth_file, write_oci_layout  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a daemon or many processes (dockerd, sshd fleet, gpg); seconds, not milliseconds")
    config.addinivalue_line("markers", "needs_root: runs rootful podman, dockerd, useradd or sshd (skipped when not root)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="the real-infrastructure harness runs as root (rootful podman, dockerd, useradd, sshd)")
    for item in items:
        if "needs_root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def realm() -> Iterator[SelfTestRealm]:
    """``svc-writer`` (pull+push) and ``svc-reader`` (pull) on namespace ``team-a``, random secrets."""
    with SelfTestRealm() as started:
        yield started


@pytest.fixture(scope="session")
def registry(realm: SelfTestRealm) -> Iterator[Registry]:
    with Registry(realm.realm_url, realm.issuer, realm.rootcertbundle) as reg:
        yield reg


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """An OCI layout with tag ``v1``; returns (directory, manifest digest)."""
    directory = str(tmp_path_factory.mktemp("oci") / "layout")
    return directory, write_oci_layout(directory, "v1")


@dataclass
class Pushed:
    ref: str
    digest: str
    writer_auth: str
    reader_auth: str
    wrong_auth: str


@pytest.fixture(scope="session")
def pushed(realm: SelfTestRealm, registry: Registry, layout: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """The layout pushed once as ``HOST/team-a/hello:v1`` by the writer, plus auth files for each identity."""
    base = tmp_path_factory.mktemp("auth")
    writer_auth = write_auth_file(str(base / "writer.json"), {registry.host: (realm.writer, realm.writer_secret)})
    reader_auth = write_auth_file(str(base / "reader.json"), {registry.host: (realm.reader, realm.reader_secret)})
    wrong_auth = write_auth_file(str(base / "wrong.json"), {registry.host: (realm.reader, realm.writer_secret)})
    ref = f"{registry.host}/{realm.namespace}/hello:v1"
    result = skopeo_push(layout[0], "v1", ref, authfile=writer_auth)
    assert result.rc == 0, result.stderr
    return Pushed(ref, layout[1], writer_auth, reader_auth, wrong_auth)
