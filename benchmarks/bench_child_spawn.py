"""What starting a child with its memory limit already set costs, against setting it late.

Every ffmpeg, ffprobe and yt-dlp child of the bot gets ``RLIMIT_DATA``. Four ways,
interleaved round by round so that machine load slows them alike:

* ``late prlimit``: Popen (``vfork``), then ``prlimit(2)`` on the running child from the
  parent: the previous way, and the baseline (the child runs unlimited until the parent
  gets there);
* ``sh wrapper``: :func:`musicrec_core.child_process.spawn` as it is: ``vfork``, then
  ``/bin/sh -c 'ulimit -d KiB && exec "$@"'`` (the limit holds from the program's first
  instruction);
* ``prlimit wrapper``: the same through util-linux ``prlimit --data=N:N --`` (the
  alternative not chosen), when installed;
* ``preexec fork``: Popen with a ``preexec_fn`` that sets the limit, which forces a full
  ``fork`` (what spawn falls back to where there is no ``/bin/sh``).

Each measurement starts a child and waits for it to exit: ``/bin/true`` (the pure cost of
starting, where a wrapper's extra exec weighs most) and ``ffprobe -version`` (a real
child, when installed). The parent holds ``--parent-mb`` touched megabytes, standing in
for the bot (TensorFlow loaded, about 1.3 GB), which is what makes a ``fork`` slow.
Prints the median per condition in ms and the ratio to the baseline.

Usage: ``.venv/bin/python benchmarks/bench_child_spawn.py [--rounds 300] [--parent-mb 1024]``
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from musicrec_core import child_process  # noqa: E402
from musicrec_core.child_process import DECODER_MEMORY_LIMIT_BYTES, spawn  # noqa: E402

LIMIT = DECODER_MEMORY_LIMIT_BYTES


def late_prlimit(args: list[str]) -> subprocess.Popen[bytes]:
    """The baseline: the limit set from the parent once the child runs."""
    child = subprocess.Popen(args, env=child_process.child_environment(), stdout=subprocess.DEVNULL)
    with contextlib.suppress(ProcessLookupError):  # it already exited
        resource.prlimit(child.pid, resource.RLIMIT_DATA, (LIMIT, LIMIT))
    return child


def sh_wrapper(args: list[str]) -> subprocess.Popen[bytes]:
    """spawn() as the bot calls it."""
    return spawn(args, memory_limit_bytes=LIMIT, stdout=subprocess.DEVNULL)


def prlimit_wrapper(prlimit: str) -> Callable[[list[str]], subprocess.Popen[bytes]]:
    """The same limit through util-linux prlimit."""

    def start(args: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [prlimit, f"--data={LIMIT}:{LIMIT}", "--", *args],
            env=child_process.child_environment(),
            stdout=subprocess.DEVNULL,
        )

    return start


def preexec_fork(args: list[str]) -> subprocess.Popen[bytes]:
    """The limit set between fork and exec (no vfork)."""
    return subprocess.Popen(
        args,
        env=child_process.child_environment(),
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_DATA, (LIMIT, LIMIT)),
    )


def run_ms(start: Callable[[list[str]], subprocess.Popen[bytes]], args: list[str]) -> float:
    """Milliseconds from the start of a child to its exit."""
    began = time.perf_counter()
    start(args).wait()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--parent-mb", type=int, default=1024)
    options = parser.parse_args()
    ballast = bytearray(options.parent_mb * 2**20)
    ballast[::4096] = b"\1" * len(ballast[::4096])  # touched: page tables a fork would copy
    conditions = {"late prlimit": late_prlimit, "sh wrapper": sh_wrapper}
    prlimit = shutil.which("prlimit")
    if prlimit:
        conditions["prlimit wrapper"] = prlimit_wrapper(prlimit)
    conditions["preexec fork"] = preexec_fork
    children = {"true": ["/bin/true"]}
    ffprobe = shutil.which("ffprobe")
    if ffprobe:
        children["ffprobe -version"] = [ffprobe, "-version"]
    print(f"parent: {options.parent_mb} MiB touched; {options.rounds} rounds, interleaved")
    for child, args in children.items():
        times: dict[str, list[float]] = {name: [] for name in conditions}
        for _ in range(options.rounds):
            for name, start in conditions.items():
                times[name].append(run_ms(start, args))
        baseline = statistics.median(times["late prlimit"])
        for name, samples in times.items():
            median = statistics.median(samples)
            print(
                f"{child:>17} | {name:<15} median {median:6.2f} ms  "
                f"+{median - baseline:5.2f} ms  {median / baseline:4.2f}x"
            )
    del ballast


if __name__ == "__main__":
    main()
