"""Self-retrieval end to end through the AudioSet path.

Generated clips (tones, noise, chords) are embedded with the synthetic VGGish checkpoint;
their uint8 embeddings are written as AudioSet release records (two segments per "video",
beside random distractor videos); ``musicrec index build-audioset`` indexes them; then each
clip, decoded again from its file, must find its own video first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicrec_core.audio import load_clip
from musicrec_core.catalog.index import CatalogIndex
from musicrec_core.cli import main
from musicrec_core.clip import Clip, Provenance
from musicrec_core.embedders.vggish import VGGishEmbedder
from musicrec_core.recommender import Recommender
from tests.helpers.audioset_records import random_segments, write_audioset_tfrecord
from tests.helpers.media import generate_media
from tests.helpers.music import generate_music

LABELS_CSV = (
    "index,mid,display_name\n0,/m/09x0r,Speech\n1,/m/04rlf,Music\n2,/m/0tone0,Tone\n"
    "3,/m/07yv9,Vehicle\n4,/m/0bt9lr,Dog\n"
)
SEGMENT_STARTS = (0.0, 12.0)
"""Each video is indexed as two 10-second segments of its file."""


@dataclass(frozen=True)
class Video:
    video_id: str
    path: Path
    labels: tuple[str, ...]


def _make_sources(folder: Path) -> list[Video]:
    def music(name: str, **recipe: object) -> Path:
        return generate_music(folder / name, seconds=25, **recipe)  # type: ignore[arg-type]

    return [
        Video("tone0220Hz0", generate_media(folder / "a.wav", seconds=25, tone_hz=220), ("Tone",)),
        Video("tone1000Hz0", generate_media(folder / "b.mp3", seconds=25, tone_hz=1000), ("Tone",)),
        Video("whiteNoise0", generate_media(folder / "c.flac", seconds=25, tone_hz=None), ()),
        Video("cMajorPulse", music("d.wav", notes_hz=(262, 330, 392), pulse_hz=2), ("Music",)),
        Video("lowDrone000", music("e.ogg", notes_hz=(55, 82.5), noise=0.02), ("Music",)),
        Video("brightClick", music("f.m4a", notes_hz=(1760, 2637), pulse_hz=8), ("Music",)),
    ]


@dataclass(frozen=True)
class Catalog:
    videos: list[Video]
    index_dir: Path
    weights: tuple[Path, Path]


@pytest.fixture(scope="module")
def catalog(
    tmp_path_factory: pytest.TempPathFactory,
    synthetic_vggish: tuple[Path, Path],
    shared_vggish_cache_dir: Path,
) -> Iterator[Catalog]:
    work = tmp_path_factory.mktemp("self-retrieval")
    videos = _make_sources(work)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICREC_CACHE_DIR", str(shared_vggish_cache_dir))
        embedder = VGGishEmbedder.from_files(*synthetic_vggish)
        clips = [load_clip(v.path, start_s=s) for v in videos for s in SEGMENT_STARTS]
        embeddings = embedder.embed_many(clips)  # one batch
        class_of = {"Speech": 0, "Music": 1, "Tone": 2}
        segments = [
            {
                "video_id": video.video_id,
                "start": clip.provenance.start_s,
                "end": clip.provenance.start_s + clip.duration_s,
                "labels": [class_of[name] for name in video.labels] or None,
                "embeddings": embedding.quantized,
            }
            for video, clip, embedding in zip(
                [v for v in videos for _ in SEGMENT_STARTS], clips, embeddings, strict=True
            )
        ]
        features = work / "features"
        write_audioset_tfrecord(features / "bal_train" / "ours.tfrecord", segments)
        distractors = random_segments(40, seed=5, num_classes=5, prefix="zz")
        write_audioset_tfrecord(features / "unbal_train" / "zz.tfrecord", distractors)
        (work / "labels.csv").write_text(LABELS_CSV)
        status = main(
            [
                "index", "build-audioset", "--features", str(features),
                "--labels", str(work / "labels.csv"), "-o", str(work / "index"),
                "--embedder-version", embedder.version, "--no-progress",
            ]
        )  # fmt: skip
        assert status == 0
        yield Catalog(videos, work / "index", synthetic_vggish)


@pytest.fixture
def recommender(catalog: Catalog, shared_vggish_cache: Path) -> Iterator[Recommender]:
    with CatalogIndex.load(catalog.index_dir) as index:
        yield Recommender(index, VGGishEmbedder.from_files(*catalog.weights))


def test_the_index_holds_every_segment(catalog: Catalog) -> None:
    with CatalogIndex.load(catalog.index_dir, verify_checksums=True) as index:
        assert len(index) == len(catalog.videos) * len(SEGMENT_STARTS) + 40
        assert index.embedder.name == "vggish"


@pytest.mark.parametrize("start_s", [0.0, 12.0, 6.0, None])
def test_each_clip_finds_its_own_video_first(
    catalog: Catalog, recommender: Recommender, start_s: float | None
) -> None:
    """Windows that were indexed (0, 12 s), one between them (6 s) and the default one."""
    clips = [load_clip(video.path, start_s=start_s) for video in catalog.videos]
    results = recommender.recommend_many(clips, k=5)
    for video, result in zip(catalog.videos, results, strict=True):
        first = result.items[0]
        assert first.group == video.video_id, (video.path.name, result.items)
        assert first.labels == video.labels
        assert first.url == (
            f"https://www.youtube.com/watch?v={video.video_id}&t={int(first.start_s)}s"
        )
        groups = [item.group for item in result.items]
        assert len(groups) == 5 == len(set(groups))  # two segments, one result
    exact = [r.items[0].window_cosine for r in results]
    if start_s in SEGMENT_STARTS:  # the very window that was indexed: the same vector
        assert min(exact) > 0.999


def test_own_video_is_excluded(catalog: Catalog, recommender: Recommender) -> None:
    for video in catalog.videos:
        samples = load_clip(video.path, start_s=0.0).samples
        clip = Clip(samples, Provenance(kind="youtube", ref=video.video_id))
        groups = [item.group for item in recommender.recommend(clip, k=8).items]
        assert video.video_id not in groups and len(set(groups)) == 8


def test_recommend_from_item_uses_the_stored_vector(
    catalog: Catalog, recommender: Recommender
) -> None:
    index = recommender.index
    for item_id in range(len(index)):
        meta = index.meta(item_id)
        if meta.group == "cMajorPulse":
            break
    result = recommender.recommend_from_item(item_id, k=6)
    assert "cMajorPulse" not in {item.group for item in result.items}
    assert len({item.group for item in result.items}) == 6
    assert result.query.ref == "cMajorPulse"


@pytest.mark.usefixtures("shared_vggish_cache")
def test_cli_recommend_on_the_audioset_index(
    catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    video = catalog.videos[3]
    checkpoint, pca = catalog.weights
    status = main(
        [
            "recommend", str(video.path), "--index", str(catalog.index_dir), "--json",
            "-k", "3", "--start", "12", "--checkpoint", str(checkpoint), "--pca", str(pca),
        ]
    )  # fmt: skip
    assert status == 0
    document = json.loads(capsys.readouterr().out)
    assert document["items"][0]["group"] == video.video_id
    assert document["items"][0]["labels"] == ["Music"]
    assert document["items"][0]["url"].endswith("&t=12s")
