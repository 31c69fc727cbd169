"""The oEmbed client: what each kind of answer means, against a stand-in on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from musicrec_core.titles.oembed import (
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    OEmbedClient,
    TitleLookupError,
    VideoAnswer,
    check_endpoint,
    thumbnail_or_none,
)
from tests.helpers.http_server import LocalHTTPServer
from tests.helpers.oembed import OEmbedStandIn, thumbnail, video

A, B = video(1), video(2)


@pytest.fixture
def stand_in(http_server: LocalHTTPServer) -> OEmbedStandIn:
    return OEmbedStandIn(http_server)


@pytest.fixture
def client(stand_in: OEmbedStandIn) -> OEmbedClient:
    return OEmbedClient(stand_in.endpoint, timeout_s=5.0)


def proven(client: OEmbedClient, stand_in: OEmbedStandIn) -> OEmbedClient:
    """The client after one "found" answer (from then on a 404 means gone)."""
    stand_in.found(video(99), "warm-up")
    client.ask(video(99))
    return client


def test_found_gives_title_channel_and_thumbnail(client, stand_in) -> None:
    stand_in.found(A, "Song of the Year", channel="The Band")
    assert client.ask(A) == VideoAnswer(A, "found", "Song of the Year", "The Band", thumbnail(A))
    request = stand_in.server.requests(stand_in.target(A))[0]
    assert request["User-Agent"].startswith("musicrec/")


def test_the_request_names_the_canonical_watch_url(client) -> None:
    url = client.request_url(A)
    assert url.startswith(client.endpoint + "?url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D")
    assert url.endswith(f"{A}&format=json")


def test_404_means_gone_once_the_endpoint_has_answered_found(client, stand_in) -> None:
    stand_in.gone(A)
    with pytest.raises(TitleLookupError, match="404"):
        client.ask(A)  # a 404 from an endpoint never seen working is not trusted
    assert proven(client, stand_in).ask(A) == VideoAnswer(A, "gone")


@pytest.mark.parametrize("status", [401, 403])
def test_embedding_disabled_or_private_is_restricted_not_gone(client, stand_in, status) -> None:
    stand_in.answer(A, b"Unauthorized", status=status, content_type="text/html")
    assert proven(client, stand_in).ask(A) == VideoAnswer(A, "restricted")


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_other_statuses_are_no_answer(client, stand_in, status) -> None:
    stand_in.answer(A, b"busy", status=status)
    with pytest.raises(TitleLookupError, match=str(status)) as raised:
        proven(client, stand_in).ask(A)
    assert raised.value.status == status


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"Forbidden",  # what YouTube once answered with 200 for private videos
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"author_name": "no title"}',
        b'{"title": 42}',
        b'{"title": "   "}',
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_malformed_bodies_are_no_answer(client, stand_in, body) -> None:
    stand_in.answer(A, body)
    with pytest.raises(TitleLookupError):
        proven(client, stand_in).ask(A)


@pytest.mark.parametrize("content_length", [None, -1, 10])  # true, none, a lie
def test_a_huge_body_is_not_read(client, stand_in, content_length) -> None:
    stand_in.server.send_buffer_bytes = 32 * 1024
    huge = b'{"title": "' + b"x" * (256 * MAX_BODY_BYTES) + b'"}'
    stand_in.answer(A, huge, content_length=content_length)
    with pytest.raises(TitleLookupError):
        client.ask(A)
    assert stand_in.server.bytes_served("/oembed") < 1 * 2**20


def test_redirects_are_not_followed(client, stand_in, http_server) -> None:
    http_server.add("/elsewhere", json.dumps({"title": "hijacked"}).encode())
    stand_in.answer(A, b"", status=302, headers={"Location": http_server.url("/elsewhere")})
    with pytest.raises(TitleLookupError, match="302"):
        proven(client, stand_in).ask(A)
    assert http_server.requests("/elsewhere") == []


def test_a_stalled_endpoint_times_out(stand_in) -> None:
    stand_in.answer(A, b'{"title": "late"}', stall_s=30)
    with pytest.raises(TitleLookupError, match="failed"):
        OEmbedClient(stand_in.endpoint, timeout_s=0.2).ask(A)


def test_an_unreachable_endpoint_is_no_answer() -> None:
    with LocalHTTPServer() as server:
        endpoint = server.url("/oembed")
    with pytest.raises(TitleLookupError):
        OEmbedClient(endpoint, timeout_s=2).ask(A)


def test_titles_and_channels_are_one_printable_line_of_bounded_length(client, stand_in) -> None:
    stand_in.found(A, "Line one\nline\ttwo\x00 " + "y" * 1000, channel="\u200bChan\r\nnel ")
    answer = client.ask(A)
    assert answer.title is not None and answer.title.startswith("Line one line two y")
    assert len(answer.title) == MAX_TEXT_CHARS and answer.title.endswith("…")
    assert answer.channel == "Chan nel"


@pytest.mark.parametrize(
    "url",
    [
        "http://i.ytimg.com/vi/x/hq.jpg",
        "https://evil.example/vi/x/hq.jpg",
        "https://i.ytimg.com.evil.example/x.jpg",
        "https://user@i.ytimg.com/x.jpg",
        "javascript:alert(1)",
        "",
        42,
        None,
    ],
)
def test_thumbnails_only_from_youtube_image_hosts(client, stand_in, url) -> None:
    assert thumbnail_or_none(url) is None
    stand_in.answer(A, json.dumps({"title": "T", "thumbnail_url": url}).encode())
    assert client.ask(A).thumbnail_url is None


@pytest.mark.parametrize(
    "url", ["https://i.ytimg.com/vi/x/hqdefault.jpg", "https://i9.ytimg.com/vi/x/1.jpg"]
)
def test_youtube_thumbnails_are_kept(url) -> None:
    assert thumbnail_or_none(url) == url


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://www.youtube.com/oembed",
        "ftp://127.0.0.1/oembed",
        "https://www.youtube.com/oembed?format=xml",
        "not a url",
        "http://127.0.0.1.example.com/oembed",
    ],
)
def test_endpoints_must_be_https_or_loopback(endpoint) -> None:
    with pytest.raises(ValueError):
        check_endpoint(endpoint)


@pytest.mark.parametrize(
    "endpoint", ["https://www.youtube.com/oembed", "http://127.0.0.1:8080/o", "http://[::1]/o"]
)
def test_https_and_loopback_endpoints_are_accepted(endpoint) -> None:
    assert check_endpoint(f" {endpoint} ") == endpoint


def test_ids_that_are_not_video_ids_are_never_asked(client, stand_in) -> None:
    with pytest.raises(TitleLookupError, match="not a YouTube video id"):
        client.ask("../../etc")
    assert stand_in.server.requests("/oembed") == []
