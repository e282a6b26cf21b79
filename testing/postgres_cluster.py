"""
A PostgreSQL cluster of a test's own: initdb and pg_ctl as the postgres user, on a
free port, with password authentication, so a test may refuse a password or restart
the server without touching the shared one.
"""

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testing.live_server import free_port
from testing.services import require

PASSWORD = "cluster-pass-42"


def postgres_bin_dir() -> Path | None:
    """Debian keeps initdb and pg_ctl out of PATH, in /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(*command: str) -> subprocess.CompletedProcess:
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    return subprocess.run([*run_as, *command], capture_output=True, text=True, timeout=60, check=True)


@dataclass
class PostgresCluster:
    """One cluster: its data directory, port and superuser ``postgres`` with PASSWORD."""

    bin_dir: Path
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), "-w", *args)

    def start(self) -> "PostgresCluster":
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-l", str(self.directory / "server.log"), "-o", options, "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "stop")


def start_postgres_cluster() -> PostgresCluster:
    """A started cluster (skips, or fails under CI, where initdb or the postgres user is missing)."""
    bin_dir = postgres_bin_dir()
    require(bin_dir is not None and shutil.which("runuser") is not None, "initdb (PostgreSQL's server) is not here")
    assert bin_dir is not None
    directory = Path(tempfile.mkdtemp(prefix="rt-pg-"))
    password_file = directory / "password"
    password_file.write_text(PASSWORD)
    shutil.chown(directory, "postgres")
    shutil.chown(password_file, "postgres")
    _as_postgres(
        str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", "postgres", "--auth=scram-sha-256",
        f"--pwfile={password_file}", "--no-sync",
    )  # fmt: skip
    return PostgresCluster(bin_dir, directory, free_port()).start()


def remove_postgres_cluster(cluster: PostgresCluster) -> None:
    try:
        cluster.stop("immediate")
    except subprocess.CalledProcessError:
        pass  # already stopped
    shutil.rmtree(cluster.directory, ignore_errors=True)
