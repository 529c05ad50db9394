"""docker-credential-pass on a headless pass store: the helper protocol and a real docker pull through it."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from icr_infra import Dockerd, PassStore, Registry, SelfTestRealm, write_auth_file

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]


@pytest.fixture(scope="module")
def store() -> Iterator[PassStore]:
    with PassStore() as started:
        yield started


def test_store_get_list_erase_round_trip(store: PassStore) -> None:
    server = "icr-infra.example.invalid"
    assert store.get(server) is None
    stored = store.store(server, "iamapikey", "s3cret-value")
    assert stored.rc == 0, stored.stderr
    assert store.get(server) == {"ServerURL": server, "Username": "iamapikey", "Secret": "s3cret-value"}
    assert store.list().get(server) == "iamapikey"
    # The secret is encrypted at rest: not in any file of the store in clear text.
    for root, _dirs, files in os.walk(store.store_dir):
        for name in files:
            assert b"s3cret-value" not in Path(root, name).read_bytes()
    assert store.erase(server).rc == 0
    assert store.get(server) is None and server not in store.list()
    # docker-credential-pass 0.6 answers a missing entry with rc 0 and an empty Username/Secret (not the protocol's
    # "credentials not found" error): callers must treat an empty answer as "not stored".
    get = store.helper("get", server)
    assert get.rc != 0 or json.loads(get.stdout).get("Secret") == "", get.stdout


def test_store_is_private_and_removed() -> None:
    other = PassStore("second store").start()
    directory = other.dir
    assert directory and other.fingerprint and len(other.fingerprint) == 40
    assert set(other.env) == {"GNUPGHOME", "PASSWORD_STORE_DIR"} and all(v.startswith(directory) for v in other.env.values())
    other.stop()
    assert not os.path.exists(directory)


@pytest.mark.parametrize("style", ["credsStore", "credHelpers"])
def test_docker_pull_through_pass(store: PassStore, pushed: Any, registry: Registry, realm: SelfTestRealm, tmp_path: Path, style: str) -> None:
    with Dockerd() as daemon:
        config_dir = tmp_path / "docker"
        if style == "credsStore":
            write_auth_file(str(config_dir / "config.json"), creds_store="pass")
        else:
            write_auth_file(str(config_dir / "config.json"), cred_helpers={registry.host: "pass"})
        # Nothing stored yet: the pull is anonymous and refused.
        store.erase(registry.host)
        refused = daemon.pull(pushed.ref, docker_config=str(config_dir), env=store.env)
        assert refused.rc != 0, refused.stdout
        assert store.store(registry.host, realm.reader, realm.reader_secret).rc == 0
        pulled = daemon.pull(pushed.ref, docker_config=str(config_dir), env=store.env)
        assert pulled.rc == 0, pulled.stderr
        assert daemon.image_exists(pushed.ref)
        # The config file holds no secret: it lives in the store.
        assert realm.reader_secret not in (config_dir / "config.json").read_text(encoding="utf-8")
        assert json.loads((config_dir / "config.json").read_text(encoding="utf-8"))["auths"] == {}
        store.erase(registry.host)
