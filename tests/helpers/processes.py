"""Real processes with the run's environment: `filmo serve` (uvicorn), `filmo worker` (Dramatiq), the CLI."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

from tests.helpers.run import REPO, TMP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`filmo <args>` as a subprocess (the run's environment plus `env`), output captured as text."""
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


class ServerProcess:
    """A real uvicorn process with the test environment; `cli=True` starts it as operators do, `filmo serve`
    (with its uvicorn options, e.g. the trusted proxies)."""

    def __init__(self, port: int | None = None, extra_env: dict | None = None, cli: bool = False):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = TMP / f"server-{self.port}.log"
        env = {**os.environ, **(extra_env or {})}
        command = (["api.cli", "serve"] if cli else ["uvicorn", "api.main:app", "--log-level", "warning"])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *command, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """Hard kill (SIGKILL): no shutdown handlers run, as in a crash."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class WorkerProcess:
    """A real `filmo worker` (Dramatiq) process with the test environment (plus `extra_env`).

    Dramatiq forks worker children; the process runs in its own session so `kill()` can SIGKILL the whole
    group, as in a crash (killing only the parent would leave the children running).
    """

    def __init__(self, extra_env: dict | None = None):
        self.log = TMP / f"worker-{secrets.token_hex(3)}.log"
        env = {**os.environ, **(extra_env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--processes", "1",
                                      "--threads", "2"], cwd=REPO, env=env, start_new_session=True,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Hard kill (SIGKILL) of the worker and its children: no shutdown handlers run, as in a crash."""
        self._kill_group()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        self.proc.wait(10)
