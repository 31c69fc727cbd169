"""A process and those under it, read from /proc (Linux): descendants, memory, descriptors.

Shared by ``bench_fairness.py`` (the bot with its workers or children) and
``bench_worker_soak.py`` (a process and its decode workers).
"""

from __future__ import annotations

import os

KIB = 1024


def kib_field(path: str, field: str) -> int:
    """``field`` (a ``kB`` line) of a /proc file such as ``/proc/PID/smaps_rollup``, in
    bytes; 0 when the process is gone or the field is absent."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * KIB
    except OSError:
        pass
    return 0


def parents() -> dict[int, int]:
    """Every live process id -> its parent's id."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    found[int(entry)] = int(stat.read().rsplit(")", 1)[-1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    return [child for child, parent in parents().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (children, their children, ...), ``pid`` not included."""
    by_parent: dict[int, list[int]] = {}
    for child, parent in parents().items():
        by_parent.setdefault(parent, []).append(child)
    found, pending = [], [pid]
    while pending:
        for child in by_parent.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def pss_bytes(pid: int) -> int:
    """Proportional set size of ``pid`` (shared pages split among their users), bytes."""
    return kib_field(f"/proc/{pid}/smaps_rollup", "Pss")


def pss_and_uss_bytes(pid: int) -> tuple[int, int]:
    """(PSS, USS) of ``pid`` in bytes, from one read of ``smaps_rollup``; (0, 0) when it is
    gone. USS (its private pages only) does not move when unrelated processes map the same
    libraries, as PSS does."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as lines:
            for line in lines:
                name, _, rest = line.partition(":")
                if name in ("Pss", "Private_Clean", "Private_Dirty"):
                    fields[name] = int(rest.split()[0]) * KIB
    except OSError:
        return 0, 0
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields.get("Pss", 0), uss


def command_line(pid: int) -> str:
    """The process's command line, arguments joined by spaces ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as line:
            return line.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def descriptors(pid: int) -> int:
    """Open file descriptors of ``pid`` (0 when it is gone)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and every live process under it, with the
    children each has reaped (a process is either live or in its parent's reaped total,
    never both); 0 for a process that is gone."""
    ticks = 0
    for number in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{number}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")
