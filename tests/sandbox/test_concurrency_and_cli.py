"""Concurrent clients against the threaded server, and ``python -m fortnox_sandbox``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from fortnox_sandbox.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, serve

from .conftest import Api

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_parallel_creates_get_distinct_document_numbers() -> None:
    with serve(SANDBOX_RATE_LIMIT=None) as server:
        api = Api(server, server.obtain_tokens())
        body = {"Order": {"CustomerNumber": "1"}}

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: api.post("/orders", body), range(24)))

        numbers = [a.json()["Order"]["DocumentNumber"] for a in answers]
        assert sorted(map(int, numbers)) == list(range(1, 25))


def test_parallel_refreshes_with_one_token_succeed_once() -> None:
    # FACTS.md §9 issue 3: two parallel refreshes invalidate each other.
    with serve() as server:
        refresh_token = server.obtain_tokens().refresh_token

        def refresh(_: int) -> int:
            return requests.post(
                f"{server.oauth_url}/token",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            ).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = sorted(pool.map(refresh, range(6)))

        assert statuses == [200, 400, 400, 400, 400, 400]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_module_serves_the_sandbox() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fortnox_sandbox", "--host", "127.0.0.1", "--port", str(port),
         "--auto-approve", "--no-seed"],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                index = requests.get(f"http://127.0.0.1:{port}/_sandbox", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert index.json()["auto_approve"] is True
        assert "POST /_sandbox/reset" in index.json()["controls"]
    finally:
        process.terminate()
        process.wait(timeout=10)
