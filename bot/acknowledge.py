"""How a request shows that work on it started, held while the work runs.

An interaction (/recommend, the context menu, a "More like" click) must be acknowledged
within Discord's 3 s, so :func:`thinking` defers it with a public "thinking…" and the answer
comes as a follow-up; a failure there is real (the interaction is lost) and propagates.

A link pasted in chat needs no acknowledgement: :func:`typing_indicator` shows "musicrec is
typing…" in the channel as a courtesy. Discord may refuse it (missing permissions, a rate
limit, a hiccup of its API); the answer does not depend on it, so such a failure is logged
and the work goes on without the indicator.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord

from bot.logging_setup import get_logger

__all__ = ["thinking", "typing_indicator"]

log = get_logger(__name__)


@contextlib.asynccontextmanager
async def thinking(interaction: discord.Interaction[Any]) -> AsyncIterator[None]:
    """Acknowledge ``interaction`` with a public "thinking…" (the reply is a follow-up)."""
    await interaction.response.defer(thinking=True)
    yield


@contextlib.asynccontextmanager
async def typing_indicator(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """Show the typing indicator in ``channel`` while the block runs, if Discord lets us."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(channel.typing())
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.info("typing indicator refused (%s); answering without it", exc)
        yield
