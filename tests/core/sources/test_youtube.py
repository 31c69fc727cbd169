"""YouTube link recognition: the forms people paste, and everything that must be refused."""

from __future__ import annotations

import pytest

from musicrec_core.errors import LinkRejectedError
from musicrec_core.sources import youtube
from musicrec_core.sources.youtube import (
    MAX_CANDIDATES,
    MAX_LINK_CHARS,
    YouTubeLink,
    find_youtube_link,
    parse_youtube_link,
    snapped_start,
)
from musicrec_core.timecode import parse_timecode

ID = "dQw4w9WgXcQ"
ID_DASH = "a-B_c9D-e_F"

# (pasted text, expected video id, expected start in seconds or None)
ACCEPTED: list[tuple[str, str, float | None]] = [
    (f"https://www.youtube.com/watch?v={ID}", ID, None),
    (f"http://www.youtube.com/watch?v={ID}", ID, None),
    (f"https://youtube.com/watch?v={ID}", ID, None),
    (f"www.youtube.com/watch?v={ID}", ID, None),
    (f"youtube.com/watch?v={ID}", ID, None),
    (f"HTTPS://WWW.YOUTUBE.COM/watch?v={ID}", ID, None),
    (f"https://m.youtube.com/watch?v={ID}", ID, None),
    (f"https://music.youtube.com/watch?v={ID}&feature=share", ID, None),
    (f"https://www.youtube.com/watch?feature=youtu.be&v={ID}", ID, None),
    (f"https://www.youtube.com/watch?app=desktop&v={ID}&ab_channel=Someone", ID, None),
    (f"https://www.youtube.com/watch?v={ID}&t=90", ID, 90.0),
    (f"https://www.youtube.com/watch?v={ID}&t=90s", ID, 90.0),
    (f"https://www.youtube.com/watch?v={ID}&t=1m30s", ID, 90.0),
    (f"https://www.youtube.com/watch?v={ID}&t=1h2m3s", ID, 3723.0),
    (f"https://www.youtube.com/watch?t=42&v={ID}", ID, 42.0),
    (f"https://www.youtube.com/watch?v={ID}#t=1m5s", ID, 65.0),
    (f"https://www.youtube.com/watch?v={ID}&t=0", ID, 0.0),
    (f"https://www.youtube.com/watch?v={ID}&t=soon", ID, None),
    (
        f"https://www.youtube.com/watch?v={ID}&list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&index=3",
        ID,
        None,
    ),
    (f"https://music.youtube.com/watch?v={ID}&list=RDAMVM{ID}", ID, None),
    (f"https://www.youtube.com/watch/{ID}", ID, None),
    (f"https://youtu.be/{ID}", ID, None),
    (f"https://youtu.be/{ID}?t=42", ID, 42.0),
    (f"https://youtu.be/{ID}?si=AbCdEfGhIjKlMnOp&t=2m", ID, 120.0),
    (f"youtu.be/{ID}", ID, None),
    (f"https://www.youtube.com/shorts/{ID}", ID, None),
    (f"https://youtube.com/shorts/{ID}?feature=share", ID, None),
    (f"https://www.youtube.com/embed/{ID}?start=75", ID, 75.0),
    (f"https://www.youtube-nocookie.com/embed/{ID}?start=10&autoplay=1", ID, 10.0),
    (f"https://youtube-nocookie.com/embed/{ID}", ID, None),
    (f"https://www.youtube.com/live/{ID}?feature=share", ID, None),
    (f"https://www.youtube.com/v/{ID}", ID, None),
    (f"https://www.youtube.com:443/watch?v={ID}", ID, None),
    (f"<https://www.youtube.com/watch?v={ID}>", ID, None),
    (f"  https://youtu.be/{ID}.  ", ID, None),
    (f"https://youtu.be/{ID_DASH}", ID_DASH, None),
    (f"https://www.youtube.com/watch?v={ID_DASH}&t=5", ID_DASH, 5.0),
    (f"https://www.youtube.com/shorts/{ID}/", ID, None),
]

# Text that is not a YouTube video link: refused by parse, ignored by find.
REFUSED: list[str] = [
    f"https://www.youtube.com.evil.example/watch?v={ID}",
    f"https://youtube.com.evil.example/watch?v={ID}",
    f"https://evil.example/youtube.com/watch?v={ID}",
    f"https://evil.example/?next=https://youtu.be/{ID}",
    f"https://user@youtube.com@evil.example/watch?v={ID}",
    f"https://user@www.youtube.com/watch?v={ID}",
    f"https://user:pass@youtu.be/{ID}",
    f"https://evil.example\\@www.youtube.com/watch?v={ID}",
    f"https://www.youtube.com\\.evil.example/watch?v={ID}",
    f"https://notyoutube.com/watch?v={ID}",
    f"https://youtube.co/watch?v={ID}",
    f"https://www.y\u043eutube.com/watch?v={ID}",  # Cyrillic o
    f"https://www.youtube.com./watch?v={ID}",
    f"ftp://www.youtube.com/watch?v={ID}",
    f"javascript:alert(1)//www.youtube.com/watch?v={ID}",
    f"file:///home/user/youtube.com/watch?v={ID}",
    f"data:text/html,https://youtu.be/{ID}",
    f"https:/www.youtube.com/watch?v={ID}",
    f"https://142.250.74.206/watch?v={ID}",
    f"http://[::1]/watch?v={ID}",
    f"http://127.0.0.1:8080/watch?v={ID}",
    f"https://www.youtube.com:8443/watch?v={ID}",
    "https://www.youtube.com/watch?v=short",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQQ",
    "https://www.youtube.com/watch?v=dQw4w9WgX%cQ",
    "https://youtu.be/",
    "https://www.youtube.com/",
    "https://www.youtube.com/@SomeChannel",
    "https://www.youtube.com/results?search_query=lofi",
    "https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
    "https://www.youtube.com/watch?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
    "https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
    "https://youtu.be/" + ID + "/extra",
    "dQw4w9WgXcQ",
    "just some words",
    "",
    "https://www.youtube.com/watch?v=" + ID + "a" * 3000,
]


@pytest.mark.parametrize(("text", "video_id", "start_s"), ACCEPTED)
def test_accepted_link_forms(text: str, video_id: str, start_s: float | None) -> None:
    link = parse_youtube_link(text)
    assert link == YouTubeLink(
        video_id=video_id,
        start_s=start_s,
        url=f"https://www.youtube.com/watch?v={video_id}",
    )
    assert find_youtube_link(f"have a listen: {text} !") == link


@pytest.mark.parametrize("text", REFUSED)
def test_refused_strings(text: str) -> None:
    with pytest.raises(LinkRejectedError) as info:
        parse_youtube_link(text)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message and len(message) < 120
    assert find_youtube_link(text) is None
    assert find_youtube_link(f"look {text} here") is None


def test_table_sizes() -> None:
    assert len(ACCEPTED) >= 30 and len(REFUSED) >= 15


def test_bare_playlist_message_says_what_to_do() -> None:
    with pytest.raises(LinkRejectedError, match="playlist"):
        parse_youtube_link("https://www.youtube.com/playlist?list=PL1234567890")


@pytest.mark.parametrize(
    ("text", "expected_id"),
    [
        (f"check this out **<https://youtu.be/{ID}?t=90>** so good", ID),
        (f"[my favourite song](https://music.youtube.com/watch?v={ID})", ID),
        (f"||https://youtu.be/{ID}||", ID),
        (f"_https://youtu.be/{ID}_", ID),
        ("_https://youtu.be/abcdefghij__", "abcdefghij_"),
        (f"(https://youtu.be/{ID})", ID),
        (f'"https://youtu.be/{ID}",', ID),
        (
            f"first https://evil.example/x then https://youtu.be/{ID} and https://youtu.be/{ID_DASH}",
            ID,
        ),
        (f"line one\nhttps://www.youtube.com/watch?v={ID}\nline three", ID),
    ],
)
def test_find_in_free_text(text: str, expected_id: str) -> None:
    link = find_youtube_link(text)
    assert link is not None and link.video_id == expected_id


def test_find_skips_refused_candidates_and_look_alike_inside_words() -> None:
    text = f"see https://youtube.com.evil.example/watch?v={ID} or ftp://youtu.be/{ID}"
    assert find_youtube_link(text) is None
    assert find_youtube_link(f"xhttps://youtu.be/{ID}") is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90.5", 90.5),
        ("90s", 90.0),
        ("1m30s", 90.0),
        ("1m", 60.0),
        ("1h2m3s", 3723.0),
        ("1:30", 90.0),
        ("01:02:03", 3723.0),
        (" 0 ", 0.0),
    ],
)
def test_parse_timecode(text: str, seconds: float) -> None:
    assert parse_timecode(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "abc", "-5", "1:75", "1:60:00", "1.2.3", "nan", "1e9", "99999999"]
)
def test_parse_timecode_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a start time"):
        parse_timecode(text)


def test_colons_are_not_accepted_in_links() -> None:
    with pytest.raises(ValueError):
        parse_timecode("1:30", allow_colons=False)


# --------------------------------------------------------------------------------------
# Hostile messages: the work is bounded (timings are in benchmarks/bench_links.py)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every candidate string that reaches the URL parser, in order."""
    seen: list[str] = []
    real = youtube._parse_candidate

    def counting(candidate: str) -> YouTubeLink:
        seen.append(candidate)
        return real(candidate)

    monkeypatch.setattr(youtube, "_parse_candidate", counting)
    return seen


def test_underscores_after_a_youtube_prefix_are_never_parsed_one_by_one(
    parses: list[str],
) -> None:
    for _ in range(30):
        assert find_youtube_link("youtube.com/" + "_" * 4000) is None
        assert find_youtube_link("https://youtu.be/" + "_" * 3980) is None
    assert parses == []  # longer than MAX_LINK_CHARS: refused before parsing
    assert find_youtube_link("youtube.com/" + "_" * (MAX_LINK_CHARS - 20)) is None
    assert len(parses) <= 4  # one parse and at most three markup retries
    assert sum(map(len, parses)) <= 4 * MAX_LINK_CHARS


@pytest.mark.parametrize(
    "text",
    [
        "*_~" * 1333,
        "_" * 4000,
        "[" * 2000 + "]" * 2000,
        "([<" * 1333,
        "hello " * 666,
        "a.b " * 1000,
    ],
)
def test_markup_runs_and_brackets_without_a_youtube_host_are_not_parsed(
    text: str, parses: list[str]
) -> None:
    assert find_youtube_link(text) is None
    assert parses == []


def test_many_youtube_looking_candidates_parse_a_bounded_number(parses: list[str]) -> None:
    text = "youtu.be/x___ " * 285
    assert find_youtube_link(text) is None
    assert len(parses) <= MAX_CANDIDATES * 4


@pytest.mark.parametrize(
    "text",
    [
        "*_~" * 1000 + f" https://youtu.be/{ID}",
        "*_~" * 600 + f"https://youtu.be/{ID}",
        "[" * 1500 + f"https://youtu.be/{ID}" + "]" * 1500,
        "_" * 3000 + f" youtu.be/{ID}_",
        "youtube.com/" + "_" * 3000 + f" https://youtu.be/{ID}",
        " ".join(["youtu.be/nope"] * (MAX_CANDIDATES - 1) + [f"https://youtu.be/{ID}"]),
    ],
)
def test_a_real_link_is_still_found_after_hostile_text(text: str) -> None:
    link = find_youtube_link(text)
    assert link is not None and link.video_id == ID


def test_candidates_past_the_limit_are_not_tried() -> None:
    text = " ".join(["youtu.be/nope"] * MAX_CANDIDATES + [f"https://youtu.be/{ID}"])
    assert find_youtube_link(text) is None


@pytest.mark.parametrize(
    ("start", "snapped"),
    [(0.0, 0.0), (1.0, 0.0), (4.999, 0.0), (5.0, 5.0), (93.0, 90.0), (3601.5, 3600.0)],
)
def test_starts_move_down_to_the_five_second_grid(start: float, snapped: float) -> None:
    """The moment a link points at stays inside the 10-s clip, with at least 5 s after it."""
    assert snapped_start(start) == snapped
    assert snapped <= start < snapped + 5.0
