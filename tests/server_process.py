"""A real `scorer serve` process on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def run_scorer(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """One `python -m scoring_runtime ...` command run to its end, from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "scoring_runtime", *args], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@dataclass
class ExternalServer:
    """A server this test run did not start (a container), driven over HTTP all the same."""

    url: str

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


def start_server(
    model: Path | None,
    log_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60,
    cwd: Path = REPO,
) -> ServerProcess:
    """Start `python -m scoring_runtime serve` and wait until it answers `/livez`; fail with its log if it dies."""
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "scoring_runtime", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    if model is not None:
        command.insert(4, str(model))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCORER_")}
    full_env.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log}")
        try:
            if httpx.get(f"{server.url}/livez", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start within {ready_timeout}s:\n{server.log}")
