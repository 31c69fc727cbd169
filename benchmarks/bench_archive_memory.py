"""Peak memory of ``musicrec index build-audioset --features`` on hostile archives.

Run: ``python benchmarks/bench_archive_memory.py [--baseline /path/to/other/checkout]``

Archives (written 1 MiB at a time, never held whole):
- bomb: a 0.26 MB gzip of a tar holding one 256 MiB member of zeros (a member over the
  64 MiB limit: the build must refuse it);
- many: twelve 60 MiB members of zeros, each under the limit (the reader must hold only a
  bounded number of them).

Each build runs in a child process of the checkout under test (``PYTHONPATH`` set to it)
that reports its peak RSS from ``/proc/self/status`` (``VmHWM``: getrusage's ``ru_maxrss``
would also count the forking parent, as Linux carries it across exec). With
``--baseline``, the other checkout (for example today's main) runs the same builds,
interleaved, so both see the same machine. Goal: under 1 GiB, the bomb refused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.tar_archives import write_tar_bomb  # noqa: E402

MiB = 2**20
_MEASURED_BUILD = textwrap.dedent(
    """
    import json, sys
    from musicrec_core.cli import main
    status = main(sys.argv[1:])
    lines = open("/proc/self/status").read().splitlines()
    peak_kib = int(next(line for line in lines if line.startswith("VmHWM:")).split()[1])
    print(json.dumps({"status": status, "peak_mib": peak_kib / 1024}))
    """
)


def measured_build(checkout: Path, archive: Path, labels: Path, out: Path) -> dict[str, object]:
    """Run the build with ``checkout``'s code; its exit status, peak MiB and last stderr line."""
    argv = ["index", "build-audioset", "--features", str(archive), "--labels", str(labels)]
    child = subprocess.run(
        [sys.executable, "-c", _MEASURED_BUILD, *argv, "-o", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd=checkout,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    errors = child.stderr.strip().splitlines()
    result["said"] = errors[-1] if errors else ""
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    checkouts = {"this": REPO_ROOT}
    if args.baseline:
        checkouts["baseline"] = args.baseline.resolve()
    with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as tmp:
        work = Path(tmp)
        labels = work / "labels.csv"
        rows = ["index,mid,display_name", *(f"{i},/m/c{i},Class {i}" for i in range(527))]
        labels.write_text("\n".join(rows) + "\n")
        archives = {
            "bomb (1 x 256 MiB)": write_tar_bomb(work / "bomb.tar.gz", 256 * MiB),
            "many (12 x 60 MiB)": write_tar_bomb(work / "many.tar.gz", 60 * MiB, members=12),
        }
        for label, archive in archives.items():
            size = archive.stat().st_size / 1e6
            print(f"bench_archive_memory: {label}, {size:.2f} MB compressed")
            for name, checkout in checkouts.items():
                result = measured_build(checkout, archive, labels, work / f"index-{name}")
                print(
                    f"  {name:<8} peak {result['peak_mib']:7.0f} MiB, exit {result['status']}: "
                    f"{str(result['said'])[:110]}"
                )


if __name__ == "__main__":
    main()
