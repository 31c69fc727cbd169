"""This test process's children, read from /proc (Linux): for tests that check that a pool
of worker processes leaks none."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie (a zombie has exited: it waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stopped(pid: int) -> bool:
    """``pid`` exists and is stopped by a signal (state ``T``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "T"
    except FileNotFoundError:
        return False


def children() -> set[int]:
    """Process ids whose parent is this process, zombies included (one not reaped yet is
    a leak too)."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[1] == me:
                        found.add(int(entry))
            except OSError:
                continue
    return found
