"""A fleet of managed "hosts" over real SSH: one sshd on a free loopback port, one local user per inventory host."""
from __future__ import annotations

import math
import os
import pwd
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence

from ._proc import (
    ClientResult,
    HarnessError,
    ManagedProcess,
    children_of,
    clean_env,
    free_port,
    make_tempdir,
    remove_tree,
    run,
    wait_until,
)

__all__ = ["SshFleet", "ANSIBLE_BIN_DIR", "find_ansible"]

SSHD = "/usr/sbin/sshd"
ANSIBLE_BIN_DIR = os.environ.get("ICR_INFRA_ANSIBLE_BIN_DIR", "")
UNREACHABLE_HOST = "icr-unreachable"


def find_ansible(executable: str = "ansible") -> str:
    """``$ICR_INFRA_ANSIBLE_BIN_DIR/<exe>``, else next to the running Python (a venv), else PATH."""
    if ANSIBLE_BIN_DIR:
        return os.path.join(ANSIBLE_BIN_DIR, executable)
    beside = os.path.join(os.path.dirname(sys.executable), executable)
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which(executable) or executable


def user_pids(uid: int) -> list[int]:
    """PIDs of the processes whose real uid is uid."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}")
        except OSError:
            continue
        if st.st_uid == uid:
            pids.append(int(entry))
    return pids


def stop_user_processes(uid: int, grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL, every process of a test user (by PID), before the user is deleted."""
    if uid == 0:
        return
    for pid in user_pids(uid):
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while user_pids(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in user_pids(uid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _retry(argv: list[str], attempts: int = 20) -> ClientResult:
    """useradd/userdel fail while another process holds the passwd lock: try again."""
    result = ClientResult(1, "", "")
    for attempt in range(attempts):
        result = run(argv, env=clean_env(), timeout=60)
        if result.rc == 0 or "lock" not in result.stderr.lower():
            return result
        time.sleep(0.1 * (attempt + 1))
    return result


class SshFleet:
    """``n_users`` local users (``<prefix>001``...), reachable as ``127.0.0.1:<port>`` through a test-owned sshd.

    Writes ``inventory.ini`` (group ``fleet``; with ``unreachable=True`` also a host ``icr-unreachable`` in group
    ``unreachable`` on a port nothing listens on) and ``ansible.cfg``; ``.env`` carries ``ANSIBLE_CONFIG``.
    Users are kept between runs (creating them is the slow part); ``remove_users()`` deletes them.
    ``sudo=True`` gives the fleet's users passwordless sudo (for ``become``) until ``stop()``.
    """

    def __init__(
        self,
        n_users: int,
        prefix: str = "icrfleet",
        *,
        unreachable: bool = False,
        forks: int | None = None,
        python_interpreter: str = "/usr/bin/python3",
        sudo: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        if n_users < 1:
            raise ValueError("n_users must be at least 1")
        if not prefix.isidentifier() or not prefix.islower() or len(prefix) > 28:
            raise ValueError("prefix must be a short lower-case identifier")
        self.n_users = n_users
        self.prefix = prefix
        self.unreachable = unreachable
        self.forks = forks or max(5, math.ceil(n_users / 2))
        self.python_interpreter = python_interpreter
        self.sudo = sudo
        self.sudoers_path = f"/etc/sudoers.d/icr-infra-{prefix}"
        self.start_timeout = start_timeout
        self.users: list[str] = [f"{prefix}{i:03d}" for i in range(1, n_users + 1)]
        self.created_users: list[str] = []
        self.dir: str | None = None
        self.port = 0
        self.unreachable_port = 0
        self.private_key_path = ""
        self.public_key_path = ""
        self.inventory_path = ""
        self.ansible_cfg_path = ""
        self.control_path_dir = ""
        self.log_path = ""
        self.startup_seconds: float | None = None
        self.users_seconds: float | None = None
        self._proc: ManagedProcess | None = None

    @property
    def pid(self) -> int | None:
        """PID of the listening sshd."""
        return self._proc.pid if self._proc else None

    # --- users -------------------------------------------------------------------------------------------------------
    def ensure_users(self) -> None:
        started = time.monotonic()
        for name in self.users:
            if not _user_exists(name):
                result = _retry(["useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", name])
                if result.rc != 0 and not _user_exists(name):
                    raise HarnessError(f"useradd {name} failed: {result.stderr.strip()}")
                self.created_users.append(name)
            entry = pwd.getpwnam(name)
            home = entry.pw_dir
            if not os.path.isdir(home):
                os.makedirs(home, mode=0o750)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            os.chmod(home, 0o750)
        self.users_seconds = time.monotonic() - started

    def _write_sudoers(self) -> None:
        """Passwordless sudo for this fleet's users (``become: true`` in plays), validated by visudo."""
        lines = [f"{user} ALL=(ALL:ALL) NOPASSWD: ALL" for user in self.users]
        tmp = f"{self.sudoers_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("# written by icr_infra.fleet.SshFleet (tests only)\n" + "\n".join(lines) + "\n")
        os.chmod(tmp, 0o440)
        check = run(["visudo", "-c", "-q", "-f", tmp], env=clean_env(), timeout=30)
        if check.rc != 0:
            os.unlink(tmp)
            raise HarnessError(f"visudo rejected {tmp}: {check.output.strip()}")
        os.replace(tmp, self.sudoers_path)

    def home_of(self, user: str) -> str:
        return pwd.getpwnam(user).pw_dir

    def remove_users(self) -> None:
        """Delete this fleet's users and their homes, after stopping what runs as them (rootless podman leaves a pause
        process behind, which would otherwise outlive the user and hold the uid for whoever gets it next)."""
        for name in self.users:
            if _user_exists(name):
                stop_user_processes(pwd.getpwnam(name).pw_uid)
                _retry(["userdel", "--remove", "--force", name])
        self.created_users = []

    @staticmethod
    def remove_all_users(prefix: str = "icrfleet") -> list[str]:
        """Delete every local user named ``<prefix><digits>`` (cleanup after benchmark runs)."""
        removed = []
        for entry in pwd.getpwall():
            suffix = entry.pw_name[len(prefix):]
            if entry.pw_name.startswith(prefix) and suffix.isdigit():
                stop_user_processes(entry.pw_uid)
                _retry(["userdel", "--remove", "--force", entry.pw_name])
                removed.append(entry.pw_name)
        return removed

    # --- sshd --------------------------------------------------------------------------------------------------------
    def _keygen(self, path: str) -> None:
        result = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "icr-infra", "-f", path], env=clean_env(), timeout=60)
        if result.rc != 0:
            raise HarnessError(f"ssh-keygen failed: {result.stderr.strip()}")

    def _sshd_config(self, host_key: str) -> str:
        assert self.dir is not None
        return "\n".join([
            f"ListenAddress 127.0.0.1:{self.port}",
            f"HostKey {host_key}",
            f"PidFile {os.path.join(self.dir, 'sshd.pid')}",
            f"AuthorizedKeysFile {os.path.join(self.dir, 'authorized_keys')}/%u",
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            f"AllowUsers {self.prefix}*",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "PermitUserEnvironment no",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            "MaxAuthTries 6",
            "LoginGraceTime 60",
            "LogLevel INFO",
            "Subsystem sftp internal-sftp",
            "",
        ])

    def _banner(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            return sock.recv(64).startswith(b"SSH-2.0-")

    def start(self) -> SshFleet:
        if not os.path.exists(SSHD):
            raise HarnessError(f"{SSHD} not found: run .ci/install-deps.sh")
        self.dir = make_tempdir("icrfleet-")
        os.chmod(self.dir, 0o755)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        assert self.dir is not None
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.ensure_users()
        if self.sudo:
            self._write_sudoers()
        host_key = os.path.join(self.dir, "ssh_host_ed25519_key")
        self._keygen(host_key)
        self.private_key_path = os.path.join(self.dir, "id_ed25519")
        self.public_key_path = self.private_key_path + ".pub"
        self._keygen(self.private_key_path)
        with open(self.public_key_path, encoding="utf-8") as handle:
            public_key = handle.read()
        keys_dir = os.path.join(self.dir, "authorized_keys")
        os.makedirs(keys_dir, mode=0o755)
        for name in self.users:
            with open(os.path.join(keys_dir, name), "w", encoding="utf-8") as handle:
                handle.write(public_key)
        self.control_path_dir = os.path.join(self.dir, "cp")
        os.makedirs(self.control_path_dir, mode=0o700)
        self.log_path = os.path.join(self.dir, "sshd.log")
        config_path = os.path.join(self.dir, "sshd_config")
        last: HarnessError | None = None
        for _attempt in range(3):
            self.port = free_port()
            with open(config_path, "w", encoding="utf-8") as handle:
                handle.write(self._sshd_config(host_key))
            check = run([SSHD, "-t", "-f", config_path], env=clean_env(), timeout=30)
            if check.rc != 0:
                raise HarnessError(f"sshd -t rejected the config: {check.stderr.strip()}")
            self._proc = ManagedProcess([SSHD, "-D", "-e", "-f", config_path], name="sshd", log_path=self.log_path, env=clean_env())
            started = time.monotonic()
            self._proc.start()
            try:
                wait_until(self._banner, timeout=self.start_timeout, what=f"sshd on 127.0.0.1:{self.port}",
                           alive=self._proc.alive, describe=self._proc.log_tail)
            except HarnessError as exc:
                last = exc
                self._proc.stop()
                self._proc = None
                continue
            self.startup_seconds = time.monotonic() - started
            break
        else:
            raise last or HarnessError("sshd did not start")
        if self.unreachable:
            self.unreachable_port = free_port()
        self._write_ansible_files()

    # --- ansible -----------------------------------------------------------------------------------------------------
    def host_vars(self, user: str) -> dict[str, str]:
        return {
            "ansible_host": "127.0.0.1",
            "ansible_port": str(self.port),
            "ansible_user": user,
            "ansible_ssh_private_key_file": self.private_key_path,
            "ansible_control_path": os.path.join(self.control_path_dir, user),
            "ansible_python_interpreter": self.python_interpreter,
        }

    def _write_ansible_files(self) -> None:
        assert self.dir is not None
        lines = ["[fleet]"]
        for user in self.users:
            lines.append(user + " " + " ".join(f"{k}={v}" for k, v in self.host_vars(user).items()))
        if self.unreachable:
            bad = self.host_vars(self.users[0])
            bad["ansible_port"] = str(self.unreachable_port)
            bad["ansible_control_path"] = os.path.join(self.control_path_dir, UNREACHABLE_HOST)
            lines += ["", "[unreachable]", UNREACHABLE_HOST + " " + " ".join(f"{k}={v}" for k, v in bad.items())]
        self.inventory_path = os.path.join(self.dir, "inventory.ini")
        with open(self.inventory_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        self.ansible_cfg_path = os.path.join(self.dir, "ansible.cfg")
        with open(self.ansible_cfg_path, "w", encoding="utf-8") as handle:
            handle.write("\n".join([
                "[defaults]",
                f"inventory = {self.inventory_path}",
                "host_key_checking = False",
                f"forks = {self.forks}",
                "retry_files_enabled = False",
                "interpreter_python = auto_silent",
                "timeout = 30",
                f"local_tmp = {os.path.join(self.dir, 'ansible-local')}",
                "",
                "[ssh_connection]",
                "pipelining = True",
                f"control_path_dir = {self.control_path_dir}",
                "ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null"
                " -o StrictHostKeyChecking=no -o LogLevel=ERROR",
                "",
            ]))

    @property
    def env(self) -> dict[str, str]:
        """Merge into the environment of ``ansible``/``ansible-playbook`` runs against this fleet."""
        return {"ANSIBLE_CONFIG": self.ansible_cfg_path, "ANSIBLE_INVENTORY": self.inventory_path}

    def ansible(
        self,
        args: Sequence[str],
        *,
        executable: str = "ansible",
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> ClientResult:
        """Run ``ansible``/``ansible-playbook`` (from ``ICR_INFRA_ANSIBLE_BIN_DIR`` or PATH) against this fleet."""
        binary = find_ansible(executable)
        merged = dict(self.env)
        merged.update(env or {})
        return run([binary, "-i", self.inventory_path, *args], env=clean_env(merged), timeout=timeout, cwd=self.dir)

    def ping(self, pattern: str = "fleet", *, env: Mapping[str, str] | None = None, timeout: float = 600.0) -> ClientResult:
        return self.ansible([pattern, "-m", "ansible.builtin.ping"], env=env, timeout=timeout)

    # --- teardown ----------------------------------------------------------------------------------------------------
    def _close_masters(self) -> None:
        if not self.control_path_dir or not os.path.isdir(self.control_path_dir):
            return
        for entry in os.listdir(self.control_path_dir):
            path = os.path.join(self.control_path_dir, entry)
            run(["ssh", "-o", f"ControlPath={path}", "-O", "exit", "icr-infra-fleet"], env=clean_env(), timeout=10)

    def stop(self) -> None:
        self._close_masters()
        if self._proc is not None:
            # Per-connection sshd children outlive the listener; note them first, then end them by PID.
            sessions = children_of(self._proc.pid) if self._proc.pid else []
            self._proc.stop()
            for pid in sessions:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            self._proc = None
        if self.sudo and os.path.exists(self.sudoers_path):
            os.unlink(self.sudoers_path)
        remove_tree(self.dir)
        self.dir = None

    def __enter__(self) -> SshFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
