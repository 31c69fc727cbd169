"""Discovery on a synthetic 1M-segment AudioSet catalog: the label index against a scan.

Run: ``python benchmarks/bench_discover.py [--items 1000000] [--repeats 20]``

The catalog: ``--items`` segments (three per video), each given the label set of a segment
drawn at random (seeded) from AudioSet's balanced-train and eval lists in
``../shared/data/audioset/``, so label frequencies and co-occurrences follow AudioSet's;
the script says so and exits when those files are missing. Its label index is built by
:meth:`LabelItems.from_label_texts` from the same comma-separated label id texts an index's
metadata holds, and (timed) by :meth:`LabelItems.from_meta` from a 1M-row SQLite items
table, which is what the first discover on an index published before the label index pays.

Each word is resolved by AudioSet's real vocabulary (a label covers the classes below it:
"music" is 270-odd classes), then a page of k = 10 (one segment per video, seeded shuffle)
is taken ``--repeats`` times, each with another seed, by (a) the label index
(:func:`qualifying_items` then :func:`spread_page`) and (b) as the same-run baseline, a
scan of every item's label text, once per word (it takes seconds). Both must count the same
qualifying segments. Reported per word: the qualifying count, the median and worst time of
(a), the time of (b) in milliseconds, and their ratio. Goal: (a) at most 50 ms for one
label. Not timed: SQLite reads of the page's metadata (k = 10 rows by primary key,
batches of 64: well under a millisecond).
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_core.catalog import labels  # noqa: E402
from musicrec_core.catalog.index.label_items import LabelItems  # noqa: E402
from musicrec_core.steering import Vocabulary  # noqa: E402
from musicrec_core.steering.discovery import spread_page  # noqa: E402
from musicrec_core.steering.qualifying import qualifying_items  # noqa: E402
from tests.helpers.shared_data import AUDIOSET_METADATA  # noqa: E402

SEGMENT_LISTS = ("balanced_train_segments.csv", "eval_segments.csv")
SEGMENTS_PER_VIDEO = 3
PAGE = 10
WORDS = ("music", "guitar", "jazz", "violin", "no vocals", "calm")
"""A group of 270-odd classes, a label with sub-classes, three single labels (a genre, an
instrument, a mood via an everyday word) and a negated word."""


def real_label_sets(classes: list[labels.AudioSetClass]) -> list[str]:
    """Each real segment's labels as the class-index text an index stores ("137,235")."""
    index_of = {c.mid: c.index for c in classes}
    texts = []
    for name in SEGMENT_LISTS:
        with (AUDIOSET_METADATA / name).open(encoding="utf-8") as handle:
            for row in csv.reader(
                (line for line in handle if not line.startswith("#")), skipinitialspace=True
            ):
                mids = row[3].split(",")
                texts.append(",".join(str(index_of[mid]) for mid in mids))
    return texts


def synthetic_catalog(real: list[str], items: int) -> list[str]:
    """``items`` label texts drawn from the real ones (seeded)."""
    picks = np.random.default_rng(0).integers(0, len(real), size=items)
    return [real[i] for i in picks]


def scan(texts: list[str], wanted: list[set[str]], unwanted: set[str]) -> np.ndarray:
    """The baseline: parse every item's labels and test them."""
    found = []
    for item_id, text in enumerate(texts):
        carried = set(text.split(","))
        if all(carried & ids for ids in wanted) and not carried & unwanted:
            found.append(item_id)
    return np.array(found, dtype=np.int32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    missing = [
        n for n in (*SEGMENT_LISTS, labels.ONTOLOGY_FILE) if not (AUDIOSET_METADATA / n).is_file()
    ]
    if missing:
        print(
            f"bench_discover: {', '.join(missing)} missing from {AUDIOSET_METADATA}; "
            "nothing to measure."
        )
        return 1
    classes = labels.read_labels(AUDIOSET_METADATA / labels.LABELS_FILE)
    vocabulary = Vocabulary.for_audioset(
        classes, labels.read_ontology_nodes(AUDIOSET_METADATA / labels.ONTOLOGY_FILE)
    )
    real = real_label_sets(classes)
    texts = synthetic_catalog(real, args.items)
    video_of = np.arange(args.items) // SEGMENTS_PER_VIDEO

    started = time.perf_counter()
    label_items = LabelItems.from_label_texts(np.arange(args.items), texts, len(classes))
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(Path(folder) / "meta.sqlite")
        db.execute("CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, label_ids TEXT)")
        db.executemany("INSERT INTO labels VALUES (?, ?)", ((c.index, c.name) for c in classes))
        db.executemany("INSERT INTO items VALUES (?, ?)", enumerate(texts))
        db.commit()
        started = time.perf_counter()
        derived = LabelItems.from_meta(db)
        derive_s = time.perf_counter() - started
        db.close()
    assert np.array_equal(derived.items, label_items.items)
    print(
        f"{args.items:,} segments from {len(real):,} real label sets; "
        f"{len(label_items.items):,} (label, segment) pairs"
    )
    print(
        f"label index: built from the label texts in {build_s:.2f} s; "
        f"derived from a SQLite items table in {derive_s:.2f} s"
    )

    def groups_of(ids: np.ndarray) -> list[str]:
        return [str(video) for video in video_of[ids]]

    print(
        f"{'word':<10} {'classes':>7} {'qualify':>9} {'index med':>10} {'index max':>10} "
        f"{'scan':>9} {'scan/index':>10}"
    )
    for word in WORDS:
        resolution = vocabulary.resolve(word)
        ids = list(resolution.label_indices)
        wanted, unwanted = ([], ids) if resolution.negated else ([ids], [])
        times = []
        for seed in range(args.repeats):
            started = time.perf_counter()
            found = qualifying_items(label_items, wanted, unwanted, args.items)
            page = spread_page(found, PAGE, seed, groups_of)
            times.append((time.perf_counter() - started) * 1000.0)
        started = time.perf_counter()
        scanned = scan(texts, [{str(i) for i in w} for w in wanted], {str(i) for i in unwanted})
        spread_page(scanned, PAGE, 0, groups_of)
        scan_ms = (time.perf_counter() - started) * 1000.0
        assert np.array_equal(scanned, found) and len(page) == min(PAGE, len(found))
        median = statistics.median(times)
        print(
            f"{word:<10} {len(ids):>7} {len(found):>9,} {median:>9.2f}  {max(times):>9.2f}  "
            f"{scan_ms:>8.0f}  {scan_ms / median:>9.0f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
