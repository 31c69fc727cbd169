"""The no-account playlist links of a YouTube session."""

from __future__ import annotations

import pytest

from musicrec_core.sessions.youtube_playlist import MAX_PLAYLIST_IDS, playlist_urls

IDS = [f"video{n:06d}" for n in range(53)]


def test_ids_are_listed_in_order_and_split_past_the_limit() -> None:
    urls = playlist_urls(IDS)
    assert len(urls) == 2
    assert urls[0] == "https://www.youtube.com/watch_videos?video_ids=" + "%2C".join(IDS[:50])
    assert urls[1].endswith("=video000050%2Cvideo000051%2Cvideo000052")


def test_what_is_not_a_video_id_is_left_out_and_nothing_gives_no_link() -> None:
    assert playlist_urls(["track-key", "x,y&list=1", "dQw4w9WgXcQ"], 10) == [
        "https://www.youtube.com/watch_videos?video_ids=dQw4w9WgXcQ"
    ]
    assert playlist_urls(["a-library-track-key"]) == []


@pytest.mark.parametrize("per_link", [0, MAX_PLAYLIST_IDS + 1])
def test_a_link_size_outside_the_limit_is_refused(per_link: int) -> None:
    with pytest.raises(ValueError, match="per_link"):
        playlist_urls(IDS, per_link)
