"""SshFleet: real sshd, real local users, real ansible over SSH."""
from __future__ import annotations

import configparser
import os
import pwd
import stat
from collections.abc import Iterator

import pytest

from icr_infra import SshFleet

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet() -> Iterator[SshFleet]:
    with SshFleet(3, unreachable=True) as started:
        yield started


def test_users_and_homes(fleet: SshFleet) -> None:
    assert fleet.users == ["icrfleet001", "icrfleet002", "icrfleet003"]
    for user in fleet.users:
        entry = pwd.getpwnam(user)
        info = os.stat(entry.pw_dir)
        assert info.st_uid == entry.pw_uid and stat.S_IMODE(info.st_mode) in (0o750, 0o755)


def test_inventory_and_config(fleet: SshFleet) -> None:
    with open(fleet.inventory_path, encoding="utf-8") as handle:
        lines = [line.split() for line in handle if line.strip() and not line.startswith("[")]
    hosts = {fields[0]: dict(f.split("=", 1) for f in fields[1:]) for fields in lines}
    assert set(hosts) == {*fleet.users, "icr-unreachable"}
    control_paths = {v["ansible_control_path"] for v in hosts.values()}
    assert len(control_paths) == len(hosts)
    for user in fleet.users:
        assert hosts[user]["ansible_host"] == "127.0.0.1" and hosts[user]["ansible_port"] == str(fleet.port)
        assert hosts[user]["ansible_user"] == user
    assert hosts["icr-unreachable"]["ansible_port"] == str(fleet.unreachable_port) != str(fleet.port)
    cfg = configparser.ConfigParser()
    cfg.read(fleet.ansible_cfg_path)
    assert cfg["defaults"]["host_key_checking"] == "False" and int(cfg["defaults"]["forks"]) >= 2
    assert cfg["ssh_connection"]["pipelining"] == "True"
    assert cfg["ssh_connection"]["control_path_dir"].startswith(str(fleet.dir))


def test_ansible_ping_every_user(fleet: SshFleet) -> None:
    result = fleet.ping("fleet")
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.count('"ping": "pong"') == 3
    who = fleet.ansible(["fleet", "-m", "ansible.builtin.command", "-a", "id -un"])
    assert who.rc == 0, who.stderr
    for user in fleet.users:
        assert f"{user} | CHANGED | rc=0 >>\n{user}" in who.stdout


def test_unreachable_host_fails_alone(fleet: SshFleet) -> None:
    result = fleet.ping("all")
    assert result.rc == 4, result.stdout + result.stderr
    assert "icr-unreachable | UNREACHABLE!" in result.stdout
    assert result.stdout.count('"ping": "pong"') == 3


def test_stop_cleans_up() -> None:
    small = SshFleet(1).start()
    directory, pid = small.dir, small.pid
    assert small.ping().rc == 0
    small.stop()
    assert directory and not os.path.exists(directory)
    assert pid and not os.path.exists(f"/proc/{pid}")
    assert pwd.getpwnam("icrfleet001")  # users are kept between runs


def test_sudo_for_become() -> None:
    with SshFleet(2, sudo=True) as become_fleet:
        assert os.path.exists(become_fleet.sudoers_path)
        result = become_fleet.ansible(["fleet", "-b", "-m", "ansible.builtin.command", "-a", "id -un"])
        assert result.rc == 0, result.stdout + result.stderr
        assert result.stdout.count("CHANGED | rc=0 >>\nroot") == 2
        sudoers = become_fleet.sudoers_path
    assert not os.path.exists(sudoers)
