"""Throwaway PostgreSQL clusters and MLflow servers on loopback, for the tests that need real ones.

The server binaries come from Debian's `postgresql` package (`.ci/run` installs it when missing).
PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres` user.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL's server is not installed: apt-get install -y postgresql (.ci/run does it)")


class Cluster:
    def __init__(self, folder: Path, port: int, bin_dir: Path, user: str | None):
        self.folder, self.port, self.bin, self.user = folder, port, bin_dir, user

    def run(self, *args: str, check: bool = True, **kwargs):
        command = [str(self.bin / args[0]) if (self.bin / args[0]).exists() else args[0], *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, **kwargs)

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-tAc", statement).stdout

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, owner: str = "postgres") -> None:
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-O", owner, name)

    def add_password_user(self, name: str, password: str) -> None:
        """A role that must give its password over TCP (the others are trusted)."""
        self.sql(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        hba = self.folder / "data" / "pg_hba.conf"
        hba.write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())  # first match wins
        self.run("pg_ctl", "-D", str(self.folder / "data"), "reload")


@contextmanager
def cluster():
    bin_dir = _bin_dir()
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="gansweep-pg-"))  # not under pytest's root-only temp folder
    folder.chmod(0o755)
    if user:
        shutil.chown(folder, user, user)
    port = free_port()
    pg = Cluster(folder, port, bin_dir, user)
    pg.run("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
    pg.run("pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"), "-w", "-t", "60",
           "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    try:
        yield pg
    finally:
        pg.run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def mlflow_server(backend_uri: str, artifacts: Path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_uri, "--artifacts-destination", str(artifacts),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mlflow server did not start: {server.stderr.read()[-2000:] if server.stderr else ''}")
            time.sleep(1)
        yield uri
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=20)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
