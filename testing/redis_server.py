"""
A redis-server of the test's own, on a free port, that the test may kill and restart.

Tests that kill, freeze or flush Redis use this, never the shared server. It is
stopped by its pid. ``keep_data=True`` runs it with an fsync-always append-only file
in its own directory, so a restart comes back with every key; otherwise a restart
comes back empty.
"""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
from django.conf import settings

from .live_server import free_port


def redis_channel_layers(url: str, **host_options: object) -> dict:
    """CHANNEL_LAYERS on the Redis at ``url`` with the backend settings.py uses there: for override_settings."""
    host = {"address": url, **host_options}
    return {"default": {"BACKEND": settings.REDIS_CHANNEL_LAYER_BACKEND, "CONFIG": {"hosts": [host]}}}


class OwnRedis:
    def __init__(self, work_dir: Path, *, keep_data: bool, replica_of: int | None = None) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        self.keep_data = keep_data
        self.replica_of = replica_of  # a master's port: this one replicates it
        self.process: subprocess.Popen | None = None
        work_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "OwnRedis":
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.keep_data else ["--appendonly", "no"]
        if self.replica_of is not None:
            persistence += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.work_dir),
                *persistence,
            ],
            stdout=(self.work_dir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("own redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, as a hung host would."""
        assert self.process is not None, "start() first"
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None, "start() first"
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
