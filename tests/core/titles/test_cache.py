"""The title cache: persistence across processes, time-to-live, concurrency, damage."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from musicrec_core.titles.cache import TitleCache, default_cache_path
from musicrec_core.titles.oembed import VideoAnswer
from tests.helpers.oembed import video

FOUND = VideoAnswer(video(1), "found", "Title", "Channel", "https://i.ytimg.com/vi/x/hq.jpg")
GONE = VideoAnswer(video(2), "gone")
RESTRICTED = VideoAnswer(video(3), "restricted")


def test_the_cache_lives_beside_the_model_cache(isolated_cache: Path) -> None:
    assert default_cache_path() == isolated_cache / "titles.sqlite3"
    with TitleCache() as cache:
        cache.put(FOUND)
    assert (isolated_cache / "titles.sqlite3").is_file()


def test_answers_survive_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "titles.sqlite3"
    with TitleCache(path) as cache:
        for answer in (FOUND, GONE, RESTRICTED):
            cache.put(answer)
    wanted = [video(n) for n in (1, 2, 3, 4)]
    script = (
        "import sys; from musicrec_core.titles.cache import TitleCache\n"
        "with TitleCache(sys.argv[1]) as c:\n"
        f"    answers = c.get_many({wanted!r}).values()\n"
        "    print(sorted((a.video_id, a.state, a.title) for a in answers))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(
        [(video(1), "found", "Title"), (video(2), "gone", None), (video(3), "restricted", None)]
    )


def test_answers_expire_after_the_time_to_live(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with TitleCache(tmp_path / "t.sqlite3", ttl_s=100, clock=lambda: now[0]) as cache:
        cache.put(FOUND)
        now[0] += 100
        assert cache.get(FOUND.video_id) == FOUND
        now[0] += 1
        assert cache.get(FOUND.video_id) is None
        cache.put(FOUND)  # asked again: valid again
        assert cache.get(FOUND.video_id) == FOUND


def test_a_new_answer_replaces_the_old(tmp_path: Path) -> None:
    with TitleCache(tmp_path / "t.sqlite3") as cache:
        cache.put(FOUND)
        cache.put(VideoAnswer(FOUND.video_id, "gone"))
        assert cache.get(FOUND.video_id) == VideoAnswer(FOUND.video_id, "gone")
        assert len(cache) == 1


def test_many_ids_at_once(tmp_path: Path) -> None:
    with TitleCache(tmp_path / "t.sqlite3") as cache:
        for n in range(0, 1500, 3):
            cache.put(VideoAnswer(video(n), "found", f"t{n}"))
        got = cache.get_many(video(n) for n in range(1500))
    assert sorted(got) == [video(n) for n in range(0, 1500, 3)]


def test_two_caches_on_one_file_write_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    with TitleCache(path) as first, TitleCache(path) as second:

        def write(cache: TitleCache, offset: int) -> None:
            for n in range(offset, 400, 2):
                cache.put(VideoAnswer(video(n), "found", f"t{n}"))

        threads = [
            threading.Thread(target=write, args=(cache, offset))
            for cache, offset in ((first, 0), (second, 1), (first, 0), (second, 1))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(first.get_many(video(n) for n in range(400))) == 400


def test_an_unusable_location_leaves_lookups_working_without_a_cache(
    tmp_path: Path, caplog
) -> None:
    """(A damaged file is rebuilt: tests/core/test_cache_files.py.)"""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with TitleCache(blocker / "t.sqlite3") as cache:  # its folder is a file
        cache.put(FOUND)
        assert cache.get(FOUND.video_id) is None
    assert "title cache" in caplog.text
