"""
Real server processes on real ports, for tests that speak to them over TCP.

A LiveStack is one database (a fresh SQLite file or a fresh PostgreSQL database),
optionally one Redis key prefix, and one or more server processes (daphne, or
`manage.py runserver`) sharing them. Tests drive it the way a user would: REST over
HTTP, sockets with the `websockets` client, and manage.py commands in a subprocess.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from . import services

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "live-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listeners_on(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port: one per `make serve` worker (SO_REUSEPORT)."""
    listening_state, local_address = "0A", f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == local_address and row.split()[3] == listening_state)


@dataclass
class ServerProcess:
    """One server process on 127.0.0.1:<port>."""

    env: dict[str, str]
    log_path: Path
    kind: str = "daphne"
    workers: int = 1
    serve_args: tuple[str, ...] = ()  # more options for `python -m realtime_site.serve`
    port: int = field(default_factory=free_port)
    project_dir: Path = PROJECT_DIR  # another checkout of the project (a test's copy), if not this one
    process: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "runserver":
            return [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        if self.kind == "serve":  # what `make serve` runs
            return [sys.executable, "-m", "realtime_site.serve", "--host", "127.0.0.1", "--port", str(self.port),
                    "--workers", str(self.workers), *self.serve_args]  # fmt: skip
        if self.kind == "uvicorn":
            return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port),
                    "--log-level", "warning", "realtime_site.asgi:application"]  # fmt: skip
        # As settings.py gives runserver: daphne's limit bounds what it sends too.
        max_frame = str(
            max(
                int(self.env.get("REALTIME_MAX_CLIENT_FRAME_BYTES", 65536)),
                int(self.env.get("REALTIME_MAX_FRAME_BYTES", 262144)),
            )
        )
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                "--websocket-max-message-size", max_frame, "--websocket-max-frame-size", max_frame,
                "realtime_site.asgi:application"]  # fmt: skip

    def start(self, timeout_secs: float = 30.0) -> "ServerProcess":
        # Taking over another server's port (a deploy), its listeners are there already.
        listening_before = listeners_on(self.port)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=self.project_dir, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                # /healthz answers whatever the Host header (a test may set DJANGO_ALLOWED_HOSTS).
                answered = httpx.get(f"{self.http_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                answered = False
            # The first worker to listen answers (or the server whose port this takes
            # over does); connections made before the others bind would all go to it, so
            # wait for every worker's own socket.
            if answered and listeners_on(self.port) >= listening_before + self.workers:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Server did not answer in {timeout_secs}s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class LiveStack:
    """A database (and maybe Redis) shared by the server processes a test starts."""

    env: dict[str, str]
    work_dir: Path
    servers: list[ServerProcess] = field(default_factory=list)
    project_dir: Path = PROJECT_DIR

    def start_server(self, kind: str = "daphne", workers: int = 1, port: int | None = None) -> ServerProcess:
        """``port``: another `make serve`'s, to take over from it as a deploy does (SO_REUSEPORT)."""
        server = ServerProcess(
            env=self.env,
            log_path=self.work_dir / f"server-{len(self.servers)}.log",
            kind=kind,
            workers=workers,
            project_dir=self.project_dir,
        )
        if port is not None:
            server.port = port
        self.servers.append(server)
        return server.start()

    def manage(self, *args: str, check: bool = True, input_text: str | None = None) -> str:
        """Run a manage.py command against this stack's database and layer; return stdout."""
        completed = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.project_dir,
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and completed.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed.stdout

    def shell(self, code: str) -> str:
        """Run Python in `manage.py shell` (a separate process, like a developer's shell)."""
        return self.manage("shell", "-c", code)

    def create_user(
        self, email: str, password: str = "s3cret-pass-42", *, staff: bool = False, superuser: bool = False
    ) -> str:
        """Create a user and return their API token key. Staff get the admin's user permissions."""
        output = self.shell(
            "from django.contrib.auth.models import Permission\n"
            "from rest_framework.authtoken.models import Token\n"
            "from users.models import User\n"
            f"user = User.objects.create_user({email!r}, {password!r}, name={email.split('@')[0]!r}, "
            f"is_staff={staff!r}, is_superuser={superuser!r})\n"
            f"if {staff!r}:\n"
            "    user.user_permissions.set(Permission.objects.filter(content_type__app_label='users'))\n"
            "print('token', Token.objects.create(user=user).key)"
        )
        return output.split("token ", 1)[1].split()[0]

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "REALTIME_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "realtime_site.settings",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    """Create an empty database on the server of ``admin_url``; return (its url, its name)."""
    name = services.unique_name("rt_live")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")), name


def drop_postgres_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
