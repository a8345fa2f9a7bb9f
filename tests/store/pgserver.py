"""A throw-away PostgreSQL 15 server for the store tests and benchmarks.

It lives in a temporary folder, listens on 127.0.0.1 on a free port only (no Unix socket
anyone else could use), asks every client for a password (scram-sha-256) and offers TLS with
a self-signed certificate made for it. initdb refuses to run as root, so when the tests run
as root (as CI does) the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("EVBM_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "evbm_admin"
SUPERUSER_PASSWORD = "admin-'\"secret;pw"
INSTALL_HINT = "`bash installer/bootstrap.sh test` installs them"


class ServerUnavailable(RuntimeError):
    """The binaries are missing or the server would not start."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestServer:
    """Start, kill and restart one PostgreSQL server; ``conninfo(...)`` connects to it."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path | None = None):
        for tool in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / tool).exists():
                raise ServerUnavailable(
                    f"PostgreSQL 15 server binaries not found in {PG_BIN} "
                    f"(no {tool}); {INSTALL_HINT}"
                )
        self.root = Path(root or tempfile.mkdtemp(prefix="evbm-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.ca_file = self.root / "ca.crt"
        self._as_user = "postgres" if os.geteuid() == 0 else None

    # ------------------------------------------------------------------ set-up

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_user:
            command = ["runuser", "-u", self._as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            raise ServerUnavailable(f"{what} failed: {result.stderr.strip() or result.stdout}")

    def init(self) -> None:
        if self._as_user:
            shutil.chown(self.root, user=self._as_user)
        password_file = self.root / "pw"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        if self._as_user:
            shutil.chown(password_file, user=self._as_user)
        self._check(
            self._run(
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ),
            "initdb",
        )
        password_file.unlink()
        self._make_certificate()
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n# evbm test server\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                "unix_socket_directories = ''\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 40\nshared_buffers = 128MB\n"
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                "password_encryption = 'scram-sha-256'\n"
            )
            if timescaledb_installed():
                conf.write(
                    "shared_preload_libraries = 'timescaledb'\n"
                    "timescaledb.telemetry_level = off\nmax_worker_processes = 16\n"
                )
        (self.data / "pg_hba.conf").write_text(
            "host all all 127.0.0.1/32 scram-sha-256\n", encoding="utf-8"
        )

    def _make_certificate(self) -> None:
        """A CA and a server certificate for 127.0.0.1/localhost, so verify-full can pass."""
        if shutil.which("openssl") is None:
            raise ServerUnavailable("the openssl command is missing (it makes the test CA)")
        root = self.root
        steps = [
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"],
            ["openssl", "req", "-x509", "-new", "-key", "ca.key", "-days", "2"]
            + ["-subj", "/CN=evbm test CA", "-out", "ca.crt"],
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout"]
            + ["-out", "server.key"],
            ["openssl", "req", "-new", "-key", "server.key", "-subj", "/CN=localhost"]
            + ["-out", "server.csr"],
        ]
        for step in steps:
            self._check(subprocess.run(step, cwd=root, capture_output=True, text=True), step[1])
        (root / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._check(
            subprocess.run(
                ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt"]
                + ["-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "server.crt"]
                + ["-extfile", "san.ext"],
                cwd=root,
                capture_output=True,
                text=True,
            ),
            "openssl x509",
        )
        for name in ("server.crt", "server.key"):
            target = self.data / name
            shutil.copy(root / name, target)
            os.chmod(target, 0o600)
            if self._as_user:
                shutil.chown(target, user=self._as_user)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        result = self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode != 0:
            log = (self.data / "server.log").read_text(errors="replace")[-2000:]
            raise ServerUnavailable(f"pg_ctl start failed: {result.stderr.strip()}\n{log}")

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().split()[0])
        return None

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend, as a crash or power cut would."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        children = [child for child in _children(pid)]
        for victim in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *children]):
            time.sleep(0.05)

    def restart_after_kill(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.data / "postmaster.pid").unlink()
        self.start()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ clients

    def conninfo(
        self,
        dbname: str = "postgres",
        user: str = SUPERUSER,
        password: str | None = SUPERUSER_PASSWORD,
        **extra: str,
    ) -> str:
        from psycopg.conninfo import make_conninfo

        params = {"host": self.host, "port": str(self.port), "dbname": dbname, "user": user}
        params["sslmode"] = "disable"
        if password is not None:
            params["password"] = password
        params.update(extra)
        return make_conninfo("", **params)


def timescaledb_installed() -> bool:
    """Whether the TimescaleDB extension is installed into this PostgreSQL."""
    result = subprocess.run(
        [str(PG_BIN / "pg_config"), "--sharedir", "--pkglibdir"], capture_output=True, text=True
    )
    if result.returncode != 0:
        return False
    share, lib = result.stdout.split()
    return (Path(share) / "extension" / "timescaledb.control").exists() and any(
        Path(lib).glob("timescaledb*.so")
    )


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_server() -> TestServer:
    server = TestServer()
    try:
        server.init()
        server.start()
    except Exception:
        server.remove()
        raise
    return server
