"""A stand-in for YouTube's oEmbed endpoint on the tests' local HTTP server.

Each video gets its own answer, registered under the exact request target the client
sends (``/oembed?url=<watch URL>&format=json``), so an unregistered video is a 404 from
the server and a test can say per video: found, gone, or misbehaving::

    stand_in = OEmbedStandIn(http_server)
    stand_in.found("aaaaaaaaaaa", "A title", channel="A channel")
    stand_in.gone("bbbbbbbbbbb")
    stand_in.answer("ccccccccccc", b"{not json", status=200)
    client = OEmbedClient(stand_in.endpoint)
"""

from __future__ import annotations

import json
from typing import Any

from musicrec_core.titles.oembed import OEmbedClient
from tests.helpers.http_server import LocalHTTPServer

PATH = "/oembed"


def video(number: int) -> str:
    """An 11-character video id, distinct per number."""
    return f"vid{number:08d}"


def thumbnail(video_id: str) -> str:
    return f"https://i.ytimg.com/vi/{video_id}/hqdefault.jpg"


class OEmbedStandIn:
    """Per-video oEmbed answers on ``server`` at :data:`PATH`."""

    def __init__(self, server: LocalHTTPServer) -> None:
        self.server = server
        self.endpoint = server.url(PATH)
        self._client = OEmbedClient(self.endpoint)

    def target(self, video_id: str) -> str:
        """The request target (path and query) the client sends for ``video_id``."""
        return self._client.request_url(video_id).removeprefix(self.server.url(""))

    def answer(self, video_id: str, body: bytes, **options: Any) -> None:
        """Answer ``video_id`` with ``body`` and any :meth:`LocalHTTPServer.add` options."""
        options.setdefault("content_type", "application/json")
        self.server.add(self.target(video_id), body, **options)

    def found(
        self,
        video_id: str,
        title: str,
        *,
        channel: str | None = "Some channel",
        thumbnail_url: str | None = None,
        **options: Any,
    ) -> None:
        """A 200 answer shaped like YouTube's."""
        document = {
            "title": title,
            "author_name": channel,
            "author_url": "https://www.youtube.com/@channel",
            "type": "video",
            "provider_name": "YouTube",
            "thumbnail_url": thumbnail_url or thumbnail(video_id),
            "html": "<iframe></iframe>",
        }
        self.answer(video_id, json.dumps(document).encode(), **options)

    def gone(self, video_id: str, **options: Any) -> None:
        """YouTube's answer for a deleted video: 404 Not Found."""
        self.answer(video_id, b"Not Found", status=404, content_type="text/html", **options)

    def requests(self, video_id: str) -> int:
        """How many times the client asked about ``video_id``."""
        return len(self.server.requests(self.target(video_id)))
