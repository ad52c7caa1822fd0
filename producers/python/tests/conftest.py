"""Redis for the tests: the suite's server (JOBCAST_REDIS_URL), or a private redis-server on a
free port that a test may kill and restart empty, as a restart without persistence."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
import time
from typing import Iterator, Optional

import pytest
import redis


@pytest.fixture()
def client() -> Iterator["redis.Redis[bytes]"]:
    url = os.environ.get("JOBCAST_REDIS_URL")
    if not url:
        pytest.fail("[jobcast] set JOBCAST_REDIS_URL to a running Redis, e.g. redis://127.0.0.1:6379 (npm test does)")
    connection = redis.Redis.from_url(url)
    yield connection
    connection.close()


@pytest.fixture()
def prefix() -> str:
    return f"py{secrets.token_hex(4)}:"


class PrivateRedis:
    """A redis-server child process on a free port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"[jobcast] redis-server on port {self.port} did not answer within 10 s")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart_later(self, delay: float) -> threading.Thread:
        thread = threading.Thread(target=lambda: (time.sleep(delay), self.start()))
        thread.start()
        return thread


@pytest.fixture()
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    yield server
    server.kill()
