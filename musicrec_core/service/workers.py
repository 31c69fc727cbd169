"""How a serving process runs its children and workers, from its settings: once, at the
start of the process (the bot's ``main``, ``musicrec serve``), since what it sets is the
process's own.

- the CPU priority of every child (ffmpeg, yt-dlp, the decode workers): ``worker_nice``;
- uploads read in long-lived decode workers, or by ffmpeg programs per request:
  ``decode_in_workers``;
- links fetched in long-lived yt-dlp workers, or a process per link: ``ytdlp_in_workers``;
- how long a waiting worker lives: ``worker_idle_s``.

Once it serves, the process starts its first workers (:func:`prestart_workers`) so the
first upload and the first link do not wait for one.
"""

from __future__ import annotations

from musicrec_core.audio.decode_workers import default_workers, set_default_workers
from musicrec_core.child_process import set_child_niceness
from musicrec_core.service.settings import ServiceSettings
from musicrec_core.sources.ytdlp_workers import default_fetch_workers, set_fetch_workers

__all__ = ["configure_workers", "prestart_workers"]


def configure_workers(settings: ServiceSettings) -> None:
    """Set this process's child priority and worker pools from ``settings``."""
    set_child_niceness(settings.worker_nice)
    idle_s = settings.worker_idle_s
    set_default_workers(settings.decode_in_workers, retire_idle_after_s=idle_s)
    set_fetch_workers(settings.ytdlp_in_workers, retire_idle_after_s=idle_s)


def prestart_workers() -> None:
    """Start a decode worker (where uploads are read in workers) and a yt-dlp worker now,
    so the first upload and the first link do not wait for one (blocking: call it in a
    thread from an event loop)."""
    workers = default_workers()
    if workers is not None:
        workers.prestart()
    default_fetch_workers().prestart()
