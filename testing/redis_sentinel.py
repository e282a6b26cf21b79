"""
A replicated Redis of a test's own: a master, a replica and three sentinels
(`redis-server --sentinel`) on free ports, with a short down-after, so a test may
SIGKILL the master and watch the replica be promoted. Stopped by their pids.
"""

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .live_server import free_port
from .redis_server import OwnRedis

MASTER_NAME = "rtmaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


@dataclass
class SentinelSetup:
    work_dir: Path
    master: OwnRedis = field(init=False)
    replica: OwnRedis = field(init=False)
    sentinel_ports: list[int] = field(default_factory=list)
    sentinels: list[subprocess.Popen] = field(default_factory=list)

    def start(self) -> "SentinelSetup":
        self.master = OwnRedis(self.work_dir / "master", keep_data=False).start()
        self.replica = OwnRedis(self.work_dir / "replica", keep_data=False, replica_of=self.master.port).start()
        for number in range(3):
            port = free_port()
            directory = self.work_dir / f"sentinel-{number}"
            directory.mkdir(parents=True, exist_ok=True)
            config = directory / "sentinel.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    ["redis-server", str(config), "--sentinel"],
                    stdout=(directory / "sentinel.log").open("ab"),
                    stderr=subprocess.STDOUT,
                )
            )
            self.sentinel_ports.append(port)
        self.wait_until_sentinels_know_the_replica()
        return self

    @property
    def env(self) -> dict[str, str]:
        """The project's settings for this setup."""
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
        }

    def master_port(self) -> int | None:
        """The master's port as the sentinels see it now."""
        for port in self.sentinel_ports:
            try:
                address = redis.Redis(port=port, socket_timeout=1).sentinel_get_master_addr_by_name(MASTER_NAME)
            except redis.RedisError:
                continue
            if isinstance(address, tuple | list):
                return int(address[1])
        return None

    def wait_until_sentinels_know_the_replica(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                replicas = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1).sentinel_slaves(MASTER_NAME)
                others = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1).sentinel_sentinels(MASTER_NAME)
                if replicas and isinstance(others, list) and len(others) >= 2:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the sentinels never saw the replica and each other")

    def stop(self) -> None:
        for process in self.sentinels:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
        self.replica.stop()
        self.master.stop()
