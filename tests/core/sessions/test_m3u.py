"""The playlist: one #EXTINF line and one location per item, titles on one line."""

from __future__ import annotations

from musicrec_core.catalog.index import ItemMeta
from musicrec_core.sessions.m3u import m3u_text, plain_line


def track(source: str, title: str | None) -> ItemMeta:
    return ItemMeta("key", 0.0, 10.0, (), title=title, source=source, kind="file")


def test_titles_lose_control_characters_and_durations_come_from_the_file() -> None:
    metas = [
        track("/music/a.flac", "Line one\n#EXTINF:1,forged\r\x00end\u2028"),
        track("/music/b.ogg", None),
        ItemMeta("dQw4w9WgXcQ", 30.0, 40.0, (), title="A video"),
    ]
    text, left_out = m3u_text(metas, duration={"/music/a.flac": 183.4}.get)
    assert left_out == 0
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXTINF:183,Line one #EXTINF:1,forged end",
        "/music/a.flac",
        "#EXTINF:-1,b.ogg",
        "/music/b.ogg",
        "#EXTINF:-1,A video",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=30s",
    ]


def test_a_path_that_cannot_be_one_line_is_left_out() -> None:
    text, left_out = m3u_text([track("/music/a\nb.flac", "t"), track("", "u")], lambda _: 1.0)
    assert (text, left_out) == ("#EXTM3U\n", 2)


def test_plain_line_keeps_ordinary_text() -> None:
    assert plain_line("  Café  del\tMar ") == "Café del Mar"


def test_names_only_writes_each_files_name_and_probes_the_full_path() -> None:
    probed: list[str] = []

    def duration(path: str) -> float:
        probed.append(path)
        return 61.6

    metas = [track("/srv/music/Artist/a b.flac", None), track("C:\\Music\\c.mp3", "C")]
    text, left_out = m3u_text(metas, duration=duration, names_only=True)
    assert left_out == 0
    assert text.splitlines() == [
        "#EXTM3U",
        "#EXTINF:62,a b.flac",
        "a b.flac",
        "#EXTINF:62,C",
        "c.mp3",
    ]
    assert probed == ["/srv/music/Artist/a b.flac", "C:\\Music\\c.mp3"]


def test_a_name_starting_with_a_hash_is_not_read_as_a_comment() -> None:
    """A player skips every line starting with '#' that is not a directive: "#1 Hit.mp3"
    written bare would be lost and its #EXTINF would name the next file."""
    metas = [track("/srv/music/#1 Hit.mp3", "Hit"), track("/srv/music/b.mp3", "B")]
    text, left_out = m3u_text(metas, duration=lambda _: 60.0, names_only=True)
    assert left_out == 0
    assert text.splitlines() == ["#EXTM3U", "#EXTINF:60,Hit", "./#1 Hit.mp3"] + [
        "#EXTINF:60,B",
        "b.mp3",
    ]


def test_a_path_holding_a_line_or_paragraph_separator_is_left_out() -> None:
    metas = [track("/music/a\u2028b.flac", "t"), track("/music/c\u2029d.flac", "u")]
    assert m3u_text(metas, lambda _: 1.0) == ("#EXTM3U\n", 2)
