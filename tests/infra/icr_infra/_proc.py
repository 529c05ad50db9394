"""Process, port and temp-dir plumbing shared by every part of the harness (internal use only)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, NamedTuple

__all__ = [
    "ClientResult",
    "HarnessError",
    "ManagedProcess",
    "children_of",
    "clean_env",
    "free_port",
    "make_tempdir",
    "remove_tree",
    "run",
    "wait_until",
]

# Variables that would make a client read someone else's credentials or talk to someone else's daemon.
_LEAKY_ENV = (
    "DOCKER_CONFIG",
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "REGISTRY_AUTH_FILE",
    "CONTAINERS_CONF",
    "CONTAINERS_STORAGE_CONF",
    "CONTAINERS_REGISTRIES_CONF",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "GNUPGHOME",
    "PASSWORD_STORE_DIR",
)


class HarnessError(RuntimeError):
    """A part of the test infrastructure could not be started or used."""


class ClientResult(NamedTuple):
    """What a real client returned; unpacks as ``rc, stdout, stderr``."""

    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def make_tempdir(prefix: str) -> str:
    """A fresh private directory under the system temp dir (short paths: unix sockets live in here)."""
    return tempfile.mkdtemp(prefix=prefix)


def remove_tree(path: str | None) -> None:
    if path and os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None, *, home: str | None = None) -> dict[str, str]:
    """The current environment without variables that point clients at foreign credentials, plus ``extra``.

    ``home`` replaces ``HOME`` so that no client falls back to ``~/.docker/config.json`` of the user running the tests.
    """
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    if home is not None:
        env["HOME"] = home
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 300.0,
    cwd: str | None = None,
) -> ClientResult:
    """Run a command to completion; secrets go through ``input_text`` (stdin) or files, never ``argv``."""
    try:
        proc = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return ClientResult(124, out, err + f"\n[icr_infra] timed out after {timeout:.0f}s: {argv[0]}")
    return ClientResult(proc.returncode, proc.stdout, proc.stderr)


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    alive: Callable[[], bool] | None = None,
    describe: Callable[[], str] | None = None,
) -> float:
    """Poll ``predicate`` until it is true; returns the seconds it took. Fails early when ``alive()`` turns false."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            if predicate():
                return time.monotonic() - start
        except Exception:  # pylint: disable=broad-exception-caught  # a probe that raises just means "not yet"
            pass
        if alive is not None and not alive():
            detail = describe() if describe else ""
            raise HarnessError(f"{what}: the process exited before it was ready\n{detail}")
        if time.monotonic() > deadline:
            detail = describe() if describe else ""
            raise HarnessError(f"{what}: not ready after {timeout:.0f}s\n{detail}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


class ManagedProcess:
    """One long-running child: own session, output to a log file, stopped by PID (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        log_path: str,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        if self.proc is not None:
            raise HarnessError(f"{self.name} already started")
        self._log = open(self.log_path, "ab")  # pylint: disable=consider-using-with  # closed in stop()
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with  # lives until stop()
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                content = handle.readlines()
        except OSError:
            return ""
        return f"--- last lines of {self.log_path} ---\n" + "".join(content[-lines:])

    def stop(self, timeout: float = 10.0, extra_pids: Callable[[], Sequence[int]] | None = None) -> int | None:
        """SIGTERM the PID, wait, then SIGKILL it and its process group. Returns the exit status."""
        if self.proc is None:
            return None
        proc = self.proc
        rc = proc.poll()
        if rc is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                others = list(extra_pids()) if extra_pids else []
                for pid in [proc.pid, *others]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    # The group is the one start_new_session gave this child: only its own descendants are in it.
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                rc = proc.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (read from /proc)."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Field 4 is the parent PID; the command name (field 2) may hold spaces, so split after its ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry))
    return found
