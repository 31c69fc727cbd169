"""Library build time and CPU per track: this checkout against another (today's path), or
bfloat16 musicnn against float32, same run.

Run: ``nice -n 19 python benchmarks/bench_library_build.py --baseline /path/to/main
[--per-collection 3] [--runs 2] [--embedder bands]`` after ``python3 scripts/fetch_corpus.py``
(the quality benchmark's corpus); or ``... --precision bfloat16`` (no ``--baseline``): this
checkout's build with ``MUSICREC_PRECISION=bfloat16`` against its float32 build.

Each build is ``build_library`` with musicnn (MTT) and today's defaults (30 windows, each
with its phone view, and landmarks) over the first ``--per-collection`` tracks of every
collection of the corpus, from an empty embedding cache, in a child process that imports
the code of one checkout (so the baseline really is the other code). The builds alternate
between the two checkouts, ``--runs`` times, each going first in turn, so load on the
shared machine hits both alike. Each child reports, without the model load:

- wall seconds of ``build_library``;
- CPU seconds of the build: its own, plus its children's (ffprobe/ffmpeg processes, and
  the decode workers, stopped and reaped at the end so their time is counted).

``--embedder bands`` builds with the tests' band-energy embedder (a few ms per clip)
instead of musicnn: what is left is the rest of the build (keying, decoding, phone
views, landmarks, the index), the part this benchmark's change is about.

Printed: the medians per track and the ratio this/baseline (goal: at most 1/3 of the
wall time), and a check that both checkouts built the same index: the sha256 of every
index file its manifest lists (vectors, metadata, landmarks, labels), else the largest
difference between the stored vectors. The same index files mean the same
``bench_quality.py`` figures on that corpus.

With ``--precision bfloat16`` the baseline is float32 and the indexes cannot be the same
bits: the bench first runs the musicnn check (``--check-library`` / ``--check-queries``
generated clips, its figures printed) in a private model cache holding a copy of the
installed weights, where both builds then load them, and compares the two indexes by the
mean share of each item's 10 nearest other items (exact search over the stored vectors)
that both find.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from fetch_corpus import default_corpus_dir  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
out, cache, name, inputs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
from musicrec_core.tf_banner import silence_tensorflow_banner
silence_tensorflow_banner()
from musicrec_core.audio.decode_workers import set_default_workers
from musicrec_core.catalog.library import build_library
from musicrec_core.embedders import load_embedder

def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

if name == "bands":
    from tests.helpers.band_embedder import BandEnergyEmbedder
    embedder = BandEnergyEmbedder(tags=True)
else:
    embedder = load_embedder(name)
wall, used = time.perf_counter(), cpu()
report = build_library(inputs, Path(out), embedder, cache_root=Path(cache))
wall = time.perf_counter() - wall
set_default_workers(False)  # stops and reaps the idle decode workers: their CPU counts
print(json.dumps({"wall_s": wall, "cpu_s": cpu() - used, "tracks": report.tracks,
                  "items": report.items, "skipped": len(report.skipped)}))
"""


def corpus_subset(corpus: Path, per_collection: int, folder: Path) -> int:
    """Link the first ``per_collection`` tracks of each collection into ``folder``."""
    folder.mkdir()
    count = 0
    for collection in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for track in sorted(p for p in collection.iterdir() if p.is_file())[:per_collection]:
            (folder / f"{collection.name}-{track.name}").symlink_to(track.resolve())
            count += 1
    return count


def build(
    checkout: Path, inputs: Path, work: Path, embedder: str, env_extra: dict[str, str]
) -> dict[str, float]:
    """One build by ``checkout``'s code in a child process (with ``env_extra`` set); its
    figures."""
    env = {**os.environ, "PYTHONPATH": str(checkout), **env_extra}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(work / "index"), str(work / "cache"), embedder]
        + [str(inputs)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"the build of {checkout} failed:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def manifest_files(index_dir: Path) -> dict[str, str]:
    """name -> sha256 of every file the published version's manifest lists."""
    version = index_dir / (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((version / "manifest.json").read_text())
    return {name: entry["sha256"] for name, entry in manifest["files"].items()}


def vector_difference(first: Path, second: Path) -> float:
    """Largest absolute difference between the two indexes' stored vectors (same order)."""
    sys.path.insert(0, str(REPO_ROOT))
    from musicrec_core.catalog.index import CatalogIndex

    with CatalogIndex.load(first) as a, CatalogIndex.load(second) as b:
        if len(a) != len(b) or a.metas(range(len(a))) != b.metas(range(len(b))):
            return float("inf")
        return float(abs(a.vectors(range(len(a))) - b.vectors(range(len(b)))).max())


def neighbour_agreement(first: Path, second: Path) -> tuple[float, int, int, float]:
    """(mean share of each item's k nearest other items that both indexes find, k, items,
    median relative L2 difference of the stored vectors): exact Euclidean search over the
    stored vectors, k = 10 or fewer in a small index (a quarter of the other items). The
    indexes must hold the same items in the same order."""
    sys.path.insert(0, str(REPO_ROOT))
    import numpy as np

    from musicrec_core.catalog.index import CatalogIndex

    loaded = []
    for path in (first, second):
        with CatalogIndex.load(path) as index:
            vectors = np.asarray(index.vectors(range(len(index))), np.float64)
            loaded.append((index.metas(range(len(index))), vectors))
    (metas_a, vectors_a), (metas_b, vectors_b) = loaded
    if metas_a != metas_b:
        raise SystemExit("the two builds hold different items; cannot compare neighbours")
    items = len(metas_a)
    k = max(1, min(10, (items - 1) // 4))
    found = []
    for vectors in (vectors_a, vectors_b):
        squares = np.sum(vectors**2, axis=1)
        distances = squares[:, None] - 2 * vectors @ vectors.T + squares[None, :]
        np.fill_diagonal(distances, np.inf)
        found.append(np.argsort(distances, axis=1, kind="stable")[:, :k])
    common = [np.intersect1d(a, b).size for a, b in zip(*found, strict=True)]
    difference = np.linalg.norm(vectors_b - vectors_a, axis=1) / np.linalg.norm(vectors_a, axis=1)
    return float(np.mean(common)) / k, k, items, float(np.median(difference))


def private_check(folder: Path, library: int, queries: int) -> dict[str, str]:
    """Copy the installed musicnn weights into a model cache at ``folder``, run the bfloat16
    check there (printing its figures) and return the environment that uses that cache."""
    sys.path.insert(0, str(REPO_ROOT))
    os.environ["MUSICREC_CACHE_DIR"] = str(folder)
    from musicrec_core.embedders.musicnn.weights import download
    from musicrec_core.quantized.musicnn_check import check_musicnn

    download(progress=False)
    result = check_musicnn(library=library, queries=queries)
    verdict = "PASS" if result.checked is not None else "REFUSED"
    print(f"  musicnn bfloat16 check: {verdict}: {result.agreement.summary()}", flush=True)
    if result.checked is None:
        raise SystemExit("bfloat16 musicnn is refused on this machine; nothing to compare")
    return {"MUSICREC_CACHE_DIR": str(folder)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="today's checkout")
    parser.add_argument(
        "--precision",
        choices=("bfloat16",),
        help="compare this checkout's builds in this precision and float32 instead",
    )
    parser.add_argument("--check-library", type=int, default=100)
    parser.add_argument("--check-queries", type=int, default=50)
    parser.add_argument("--corpus", type=Path, default=default_corpus_dir())
    parser.add_argument("--per-collection", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--embedder", choices=("musicnn", "bands"), default="musicnn")
    args = parser.parse_args()
    if (args.baseline is None) == (args.precision is None):
        parser.error("give either --baseline or --precision")
    if args.precision and args.embedder != "musicnn":
        parser.error("--precision compares musicnn builds")
    figures: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
        if args.precision:
            models = private_check(Path(tmp) / "models", args.check_library, args.check_queries)
            builds = {
                "baseline": (REPO_ROOT, {**models, "MUSICREC_PRECISION": "float32"}),
                "this": (REPO_ROOT, {**models, "MUSICREC_PRECISION": args.precision}),
            }
            names = f"baseline = float32, this = {args.precision}"
        else:
            builds = {"baseline": (args.baseline.resolve(), {}), "this": (REPO_ROOT, {})}
            names = "baseline = --baseline, this = this checkout"
        inputs = Path(tmp) / "tracks"
        count = corpus_subset(args.corpus, args.per_collection, inputs)
        print(
            f"bench_library_build: {count} tracks of {args.corpus}, {args.embedder}, "
            f"30 windows ({names})"
        )
        for run in range(args.runs):
            order = list(builds.items())
            for name, (checkout, env) in order[::-1] if run % 2 else order:  # each first in turn
                work = Path(tmp) / f"{name}-{run}"
                result = build(checkout, inputs, work, args.embedder, env)
                figures[name].append(result)
                print(f"  run {run + 1} {name:<8}: {json.dumps(result)}", flush=True)
        per_track = {
            name: {
                key: statistics.median(r[key] / r["tracks"] for r in results)
                for key in ("wall_s", "cpu_s")
            }
            for name, results in figures.items()
        }
        load = os.getloadavg()[0]
        print(f"median of {args.runs} interleaved runs, per track, 1-min load {load:.1f}")
        for key, label in (("wall_s", "wall s "), ("cpu_s", "CPU-s  ")):
            base, this = per_track["baseline"][key], per_track["this"][key]
            goal = "  (goal <= 0.333)" if key == "wall_s" and not args.precision else ""
            ratio = this / base
            print(f"  {label} baseline {base:6.2f}   this {this:6.2f}   ratio {ratio:.3f}{goal}")
        first, second = Path(tmp) / "baseline-0" / "index", Path(tmp) / "this-0" / "index"
        if args.precision:
            overlap, k, items, difference = neighbour_agreement(first, second)
            print(
                f"  {args.precision} vs float32 index: top-{k} neighbours of each of {items} "
                f"items overlap {overlap:.1%}; stored vectors differ by {difference:.2%} "
                f"(median relative L2)"
            )
            return
        files_a, files_b = manifest_files(first), manifest_files(second)
        same = sorted(name for name in files_a if files_a[name] == files_b.get(name))
        differ = sorted((set(files_a) | set(files_b)) - set(same))
        print(f"  index files identical (sha256): {', '.join(same) or 'none'}")
        if differ:
            print(f"  index files that differ: {', '.join(differ)}")
            print(f"  largest stored-vector difference: {vector_difference(first, second):.3g}")


if __name__ == "__main__":
    main()
