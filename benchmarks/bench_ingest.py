"""AudioSet ingest: our reader vs a per-record ParseFromString loop, and the whole release.

Run: ``python benchmarks/bench_ingest.py [--segments 40000] [--index-items 300000]``

Data: release-format TFRecords written with TensorFlow's own protos
(tests/helpers/audioset_records.py): ``--segments`` segments in files of 170 records (the
release's average), 1-4 labels each, one in twenty shorter than 10 s; plus the same files
as a .tar.gz.

Measured in one process, best of five interleaved runs (the machine is shared):
- baseline: the approach of public notebooks, written tidily: TensorFlow's C++
  ``tf_record_iterator`` (which checks CRCs), ``tf.train.SequenceExample.FromString`` per
  record, the fields read from the proto, ``np.frombuffer`` of the joined embedding bytes,
  dequantize and mean-pool with numpy;
- ours (folder): ``AudioSetReader.read(folder)`` (CRC-32C checks, bulk parse, pooling);
- ours (tar.gz): ``AudioSetReader.read_archive`` on the archive (adds gzip inflation).
Goal: ours >= 5x the baseline in segments/s. Rates per CPU-second are printed too: the
machine is shared, and CPU time is less disturbed by other processes than wall time (ours
uses a second thread for gzip inflation, counted in its CPU time).

Then ``build_index`` (ItemMeta + SQLite rows + Annoy add, Annoy build with the default
n_trees, sha256, publish) over ``--index-items`` items (the read vectors repeated with a
little noise), timed in parts, and an extrapolation to the 2.04 M segments of the release:
read and add scale linearly, the Annoy build as n log n from the size measured here.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core.catalog.audioset import (  # noqa: E402
    RELEASE_SEGMENTS,
    AudioSetReader,
    SegmentBatch,
    build_index,
)
from musicrec_core.catalog.index import DEFAULT_N_TREES, IndexBuilder  # noqa: E402
from musicrec_core.catalog.pooling import pool  # noqa: E402
from musicrec_core.embedders.vggish.postprocess import dequantize  # noqa: E402
from tests.helpers.audioset_records import (  # noqa: E402
    random_segments,
    write_audioset_tfrecord,
    write_features_archive,
)

RECORDS_PER_FILE = 170


def write_release(root: Path, segments: int) -> int:
    """Write ``segments`` release-format segments under root/unbal_train; returns bytes."""
    lengths = [10 if i % 20 else 3 + i % 7 for i in range(segments)]
    everything = random_segments(segments, seed=11, seconds=lengths)
    for number, start in enumerate(range(0, segments, RECORDS_PER_FILE)):
        write_audioset_tfrecord(
            root / "unbal_train" / f"{number:05d}.tfrecord",
            everything[start : start + RECORDS_PER_FILE],
        )
    return sum(p.stat().st_size for p in root.rglob("*.tfrecord"))


def baseline(files: list[Path]) -> int:
    """Per-record protos: the notebook way. Returns segments pooled."""
    import tensorflow as tf

    count = 0
    for path in files:
        for raw in tf.compat.v1.io.tf_record_iterator(str(path)):
            example = tf.train.SequenceExample.FromString(raw)
            context = example.context.feature
            _video_id = context["video_id"].bytes_list.value[0].decode()
            _start = context["start_time_seconds"].float_list.value[0]
            _end = context["end_time_seconds"].float_list.value[0]
            _labels = list(context["labels"].int64_list.value)
            frames = example.feature_lists.feature_list["audio_embedding"].feature
            codes = np.frombuffer(b"".join(f.bytes_list.value[0] for f in frames), np.uint8)
            pool(dequantize(codes.reshape(-1, 128)), "mean")
            count += 1
    return count


def ours_folder(root: Path) -> int:
    return sum(len(batch) for batch in AudioSetReader().read(root))


def ours_archive(archive: Path) -> int:
    with archive.open("rb") as handle:
        return sum(len(batch) for batch in AudioSetReader().read_archive(handle))


def rates(function: object, argument: object) -> tuple[float, float]:
    """(segments per wall second, segments per CPU second of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = function(argument)  # type: ignore[operator]
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def grown_batches(template: SegmentBatch, items: int) -> list[SegmentBatch]:
    """``items`` segments: the read ones repeated, vectors jittered so none coincide."""
    rng = np.random.default_rng(5)
    batches = []
    made = 0
    while made < items:
        take = min(len(template), items - made)
        jitter = rng.normal(scale=0.05, size=(take, template.vectors.shape[1]))
        label_end = int(template.label_counts[:take].sum())
        batches.append(
            SegmentBatch(
                video_ids=[f"{made + i:011d}" for i in range(take)],
                start_s=template.start_s[:take],
                end_s=template.end_s[:take],
                label_counts=template.label_counts[:take],
                label_values=template.label_values[:label_end],
                frame_counts=template.frame_counts[:take],
                vectors=(template.vectors[:take] + jitter).astype(np.float32),
            )
        )
        made += take
    return batches


def time_build(batches: list[SegmentBatch], folder: Path) -> dict[str, float]:
    """Seconds for the metadata + Annoy adds and for commit, via the real build_index."""
    names = [f"Class {i}" for i in range(527)]
    stats = AudioSetReader().stats
    timings: dict[str, float] = {}
    original_commit = IndexBuilder.commit

    def timed_commit(self: IndexBuilder, extra: dict | None = None) -> Path:
        timings["add"] = time.perf_counter() - started
        commit_started = time.perf_counter()
        result = original_commit(self, extra)
        timings["commit"] = time.perf_counter() - commit_started
        return result

    IndexBuilder.commit = timed_commit  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        build_index(iter(batches), folder, class_names=names, stats=stats)
    finally:
        IndexBuilder.commit = original_commit  # type: ignore[method-assign]
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=40_000)
    parser.add_argument("--index-items", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
        root = Path(tmp) / "audioset_v1_embeddings"
        size = write_release(root, args.segments)
        archive = write_features_archive(root, Path(tmp) / "features.tar.gz")
        files = sorted(root.rglob("*.tfrecord"))
        print(
            f"bench_ingest: {args.segments:,} segments in {len(files)} files, "
            f"{size / 1e6:.1f} MB ({size / args.segments:.0f} B/segment)"
        )
        best = {"baseline": (0.0, 0.0), "folder": (0.0, 0.0), "archive": (0.0, 0.0)}
        runs = {"baseline": (baseline, files), "folder": (ours_folder, root)}
        runs["archive"] = (ours_archive, archive)
        for _ in range(5):  # interleaved so machine load hits all alike
            for name, (function, argument) in runs.items():
                wall, cpu = rates(function, argument)
                best[name] = (max(best[name][0], wall), max(best[name][1], cpu))
        base_wall, base_cpu = best["baseline"]
        print(
            f"  baseline per-record ParseFromString: {base_wall:10,.0f} segments/s "
            f"({base_cpu:,.0f} per CPU-second)"
        )
        for name, label in (
            ("folder", "folder:             "),
            ("archive", "tar.gz stream:      "),
        ):
            wall, cpu = best[name]
            print(
                f"  ours, {label}           {wall:10,.0f} segments/s "
                f"(x{wall / base_wall:.1f} the baseline; per CPU-second {cpu:,.0f}, "
                f"x{cpu / base_cpu:.1f}){'  goal >= 5x' if name == 'folder' else ''}"
            )
        archive_rate = best["archive"][0]
        template = SegmentBatch.join(list(AudioSetReader().read(root)))
        batches = grown_batches(template, args.index_items)
        timings = time_build(batches, Path(tmp) / "index")
        items = args.index_items
        print(
            f"  build_index over {items:,} items (n_trees={DEFAULT_N_TREES}): metadata + Annoy "
            f"adds {timings['add']:.1f} s ({items / timings['add']:,.0f} items/s), commit "
            f"(Annoy build, sha256, publish) {timings['commit']:.1f} s"
        )
    release = RELEASE_SEGMENTS
    read_s = release / archive_rate
    add_s = release * timings["add"] / items
    build_s = timings["commit"] * (release * math.log(release)) / (items * math.log(items))
    total = read_s + add_s + build_s
    print(
        f"extrapolated to the release ({release:,} segments, from features.tar.gz on disk): "
        f"read+pool {read_s:.0f} s + add {add_s:.0f} s + Annoy build/commit {build_s:.0f} s "
        f"(n log n) = {total / 60:.1f} min (goal <= 10 min); --download adds nothing if the "
        f"link delivers 2.4 GB in that time ({2.4e9 * 8 / total / 1e6:.0f} Mbit/s)"
    )


if __name__ == "__main__":
    main()
