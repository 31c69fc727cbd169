"""``musicrec serve`` as a real process for the API benchmarks, and its keys through the CLI.

Shared by ``bench_api_hostile.py`` (attacks against the server) and ``bench_api_fairness.py``
(the server beside the bot). :class:`ApiProcess` starts the server through the tests-only
launcher :mod:`tests.helpers.launch_api` (so local "YouTube" videos can be served), waits
for ``/healthz`` to say ready, keeps its output in a temporary file and stops it with
SIGINT.
:func:`api_key` runs ``musicrec api-key ...`` as an operator would, in the same environment
(the key file lives under ``MUSICREC_CACHE_DIR``).
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_WAIT_S = 300.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_key(env: Mapping[str, str], *args: str) -> str:
    """Run ``musicrec api-key ARGS`` in ``env``; its stdout (the key, for ``add``)."""
    done = subprocess.run(
        [sys.executable, "-m", "musicrec_core.cli", "api-key", *args],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class ApiProcess:
    """``musicrec serve --port PORT`` in ``env``, videos in ``serve_videos`` (id -> loopback
    URL) fetched from the local server, ``nice`` steps below this process's priority, or in
    the idle CPU class (``idle``: ``chrt --idle 0``, Linux); use as a context manager."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        serve_videos: Mapping[str, str] | None = None,
        nice: int = 0,
        idle: bool = False,
    ) -> None:
        self.port = free_port()
        command = ["nice", "-n", str(nice)] if nice else []
        command += ["chrt", "--idle", "0"] if idle else []
        command += [sys.executable, "-m", "tests.helpers.launch_api"]
        for video_id, url in (serve_videos or {}).items():
            command += ["--serve-video", f"{video_id}={url}"]
        command += ["--", "serve", "--port", str(self.port)]
        self._log_dir = Path(tempfile.mkdtemp(prefix="musicrec-serve-log-"))
        self._log = self._log_dir / "serve.log"
        with self._log.open("ab") as output:  # the server appends; reads never move it
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    @property
    def lines(self) -> list[str]:
        """Everything the server printed so far, line by line."""
        return self._log.read_text(errors="replace").splitlines()

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> ApiProcess:
        deadline = time.monotonic() + READY_WAIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("musicrec serve exited:\n" + "\n".join(self.lines))
            try:
                status, body = self.get("/healthz")
                if status == 200 and json.loads(body).get("ready"):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        output = "\n".join(self.lines)
        self.stop()
        raise TimeoutError("musicrec serve was not ready:\n" + output)

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        """One GET on a fresh connection: status and body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers=dict(headers or {}))
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        """SIGINT, then wait (SIGKILL after 30 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._log_dir, ignore_errors=True)
