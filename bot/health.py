"""What a supervisor and the operator see of one bot process: its shards and a health file.

Mental model: the bot is split into shards (Discord sends each server's events to one
shard: ``(guild_id >> 22) % shard_count``) and one process runs some of them
(``MUSICREC_SHARD_IDS``). :func:`shard_summaries` describes the shards of this process
(gateway latency, servers) for ``/musicrec status`` and the health file.

:class:`HealthFile` rewrites a small JSON file every ``interval_s`` seconds, atomically (a
reader sees the previous report or the next one, never half of one), from a report the bot
builds (:meth:`bot.app.MusicrecBot.health_report`), adding ``updated_at`` and ``pid``. A
supervisor reads ``ready`` and the age of ``updated_at``: a report older than a few
intervals means the process is stuck or gone. The last report, written while stopping,
says ``ready: false``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord

from bot.logging_setup import get_logger
from musicrec_core.atomic_file import atomic_write

log = get_logger(__name__)

Report = Mapping[str, Any]
"""A JSON-serialisable health report."""


@dataclass(frozen=True)
class ShardSummary:
    """One shard run by this process.

    Attributes:
        shard_id: the shard's id, ``0 .. shard_count - 1``.
        latency_ms: time between a heartbeat and its acknowledgement, in milliseconds;
            None before the first acknowledgement.
        guilds: servers whose events this shard receives.
        connected: whether its gateway connection is open.
    """

    shard_id: int
    latency_ms: float | None
    guilds: int
    connected: bool

    def as_json(self) -> dict[str, Any]:
        latency = None if self.latency_ms is None else round(self.latency_ms, 1)
        return {
            "id": self.shard_id,
            "latency_ms": latency,
            "guilds": self.guilds,
            "connected": self.connected,
        }


def shard_summaries(client: discord.AutoShardedClient) -> list[ShardSummary]:
    """The shards this process runs, by id (empty before the gateway connects)."""
    guilds = Counter(guild.shard_id for guild in client.guilds)
    summaries = []
    for shard_id, shard in sorted(client.shards.items()):
        latency = shard.latency
        summaries.append(
            ShardSummary(
                shard_id=shard_id,
                latency_ms=latency * 1000.0 if math.isfinite(latency) else None,
                guilds=guilds[shard_id],
                connected=not shard.is_closed(),
            )
        )
    return summaries


def write_report(path: Path, report: Report) -> None:
    """Replace ``path`` with ``report`` as JSON plus ``updated_at`` (ISO 8601, UTC) and
    ``pid``, atomically.

    Raises:
        OSError: the folder cannot be written.
    """
    stamped = {**report, "updated_at": datetime.now(UTC).isoformat(), "pid": os.getpid()}
    with atomic_write(path) as handle:
        handle.write(json.dumps(stamped, indent=1).encode("utf-8") + b"\n")


class HealthFile:
    """Writes ``report()`` to ``path`` at start, every ``interval_s`` seconds, and at stop.

    Args:
        path: the file (its folder is created).
        interval_s: seconds between two reports.
        report: builds the report; called on the event loop, so it must be quick.
    """

    def __init__(self, path: Path, *, interval_s: float, report: Callable[[], Report]) -> None:
        self._path = path
        self._interval_s = interval_s
        self._report = report
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        """Start writing on the running loop."""
        if self._task is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._task = asyncio.get_running_loop().create_task(self._run(), name="musicrec-health")

    async def stop(self) -> None:
        """Stop the timer and write one last report."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.write()

    async def write(self) -> None:
        """Write a report now (in a thread); a failure is logged once until it clears."""
        report = self._report()
        try:
            await asyncio.to_thread(write_report, self._path, report)
        except OSError as exc:
            if not self._failing:
                log.warning("cannot write the health file %s: %s", self._path, exc)
            self._failing = True
        else:
            if self._failing:
                log.info("writing the health file %s again", self._path)
            self._failing = False

    async def _run(self) -> None:
        while True:
            await self.write()
            await asyncio.sleep(self._interval_s)
