"""An autoplay client for musicrec's HTTP API, with nothing but Python's standard library.

A music bot keeps one :class:`AutoplaySession` per voice channel (or per queue). When the
queue runs dry it calls :meth:`AutoplaySession.next_track`, which asks ``/v1/similar`` for
tracks that sound like the last one played, none of them played before in this session,
and returns the first (a dict: ``id``, ``title``, ``url``, ``start``...; docs/api.md), or
None once the catalog has nothing left that was not played::

    session = AutoplaySession("http://127.0.0.1:8750", key, seed="dQw4w9WgXcQ")
    track = session.next_track()        # play track["url"], from track["start"] seconds
    session.played_elsewhere("abcdefghijk")   # a track a member queued: no repeat of it

The seed counts as played, so it never comes back. The ids played so far go in
``exclude``: in the query of ``GET /v1/similar`` while there are at most 100 of them, then
as JSON to ``POST /v1/similar`` (up to 5,000: a longer session sends its latest 5,000).
A busy server (503) or a spent budget (429) says when to come back (``Retry-After``); the
client waits that long, up to ``max_wait_s``, and asks again. Any other error raises
:class:`AutoplayError` with the API's ``code`` and ``message``.

Run it to hear what autoplay would pick::

    python docs/examples/autoplay_client.py --url http://127.0.0.1:8750 --key KEY \\
        --seed VIDEO_ID --tracks 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

GET_EXCLUDE_LIMIT = 100
"""The most ids ``GET /v1/similar`` takes in ``exclude``; more go by POST."""
POST_EXCLUDE_LIMIT = 5000
"""The most ids ``POST /v1/similar`` takes in ``exclude``."""


class AutoplayError(Exception):
    """The API refused: ``status`` (0 when the server could not be reached), the API's
    ``code`` (e.g. ``invalid_key``, ``video_unavailable``) and its ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class AutoplaySession:
    """One listening session: the ids played so far, and the next track after them.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8750``.
        key: an API key (``musicrec api-key add NAME``).
        seed: the first track, a YouTube video id or a ``lib_`` id; never played again.
        played: ids played before the seed, when a bot resumes a session; never again.
        candidates: tracks asked for each time (the first one not played is taken).
        max_wait_s: the longest ``Retry-After`` worth waiting for; longer raises.
        timeout_s: seconds to wait for one answer.
        sleep: how to wait (``time.sleep``; an async bot runs the session in a thread).
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        seed: str,
        *,
        played: Sequence[str] = (),
        candidates: int = 5,
        max_wait_s: float = 60.0,
        timeout_s: float = 180.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.played: list[str] = [*played, seed]
        self._key = key
        self._candidates = candidates
        self._max_wait_s = max_wait_s
        self._timeout_s = timeout_s
        self._sleep = sleep

    def played_elsewhere(self, track_id: str) -> None:
        """Note a track played outside autoplay (it becomes the next seed)."""
        self.played.append(track_id)

    def next_track(self) -> dict[str, Any] | None:
        """The next track: like the last one played, none played before; None when the
        catalog holds nothing more. It is counted as played."""
        played = set(self.played)
        answer = self._similar(seed=self.played[-1], exclude=self.played[-POST_EXCLUDE_LIMIT:])
        for item in answer["items"]:
            if item["id"] not in played:
                self.played.append(item["id"])
                return item
        return None

    def _similar(self, seed: str, exclude: list[str]) -> dict[str, Any]:
        if len(exclude) <= GET_EXCLUDE_LIMIT:
            query = urllib.parse.urlencode(
                {"seed": seed, "n": self._candidates, "exclude": ",".join(exclude)}
            )
            return self._call(urllib.request.Request(f"{self.base_url}/v1/similar?{query}"))
        body = json.dumps({"seed": seed, "n": self._candidates, "exclude": exclude})
        request = urllib.request.Request(
            f"{self.base_url}/v1/similar",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._call(request)

    def _call(self, request: urllib.request.Request) -> dict[str, Any]:
        """The JSON answer to ``request``, waiting out 429/503 answers that say when to
        come back (within ``max_wait_s`` each)."""
        request.add_header("Authorization", f"Bearer {self._key}")
        while True:
            try:
                with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                    answer: dict[str, Any] = json.load(response)
                    return answer
            except urllib.error.HTTPError as refused:
                with refused:
                    error = _error_of(refused)
                    wait = _retry_after(refused)
                if refused.code not in (429, 503) or wait is None or wait > self._max_wait_s:
                    raise error from None
                self._sleep(wait)
            except (urllib.error.URLError, TimeoutError) as failed:
                reason = getattr(failed, "reason", failed)
                raise AutoplayError(0, "unreachable", f"{self.base_url}: {reason}") from None


def _error_of(refused: urllib.error.HTTPError) -> AutoplayError:
    """The API's ``{"error": {"code", "message"}}``, or the HTTP reason when the body is
    not that (a proxy's page)."""
    try:
        error = json.loads(refused.read())["error"]
        return AutoplayError(refused.code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return AutoplayError(refused.code, "http_error", str(refused.reason))


def _retry_after(refused: urllib.error.HTTPError) -> float | None:
    """``Retry-After`` in seconds (the API sends whole seconds), or None."""
    try:
        return float(refused.headers.get("Retry-After", ""))
    except ValueError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Print the ``--tracks`` tracks autoplay would play after ``--seed``, one a line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8750", help="the musicrec server")
    parser.add_argument("--key", required=True, help="an API key (musicrec api-key add NAME)")
    parser.add_argument("--seed", required=True, help="a YouTube video id or a lib_ id")
    parser.add_argument("--tracks", type=int, default=5, help="how many tracks to pick")
    args = parser.parse_args(argv)
    session = AutoplaySession(args.url, args.key, args.seed)
    try:
        for number in range(1, args.tracks + 1):
            track = session.next_track()
            if track is None:
                print("(nothing left that was not played)")
                break
            where = track["url"] or track["id"]
            print(f"{number}. {track['title'] or track['id']}  {where}")
    except AutoplayError as error:
        print(f"autoplay: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
