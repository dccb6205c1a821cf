"""A throw-away redis-server of the test's own, for tests that restart or stop Redis under a running process.

The shared Redis (FILMO_REDIS_PORT) is never touched: point a server's REDIS_URL at `RedisServer().url`.
"""
from __future__ import annotations

import subprocess
import time

from tests.helpers.processes import free_port
from tests.helpers.run import TMP


class RedisServer:
    """redis-server on a free port, no persistence: `restart()` is what a Redis restart looks like to clients
    (every open connection closed, an empty server on the same port)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = TMP / f"redis-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--databases", "4"],
            stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
