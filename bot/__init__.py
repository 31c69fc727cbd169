"""The musicrec Discord bot (discord.py 2.x).

Layout: :mod:`bot.__main__` (command line), :mod:`bot.app` (Bot subclass, command tree,
catalog loading), :mod:`bot.settings`, :mod:`bot.logging_setup`, :mod:`bot.batching`
(request queue + micro-batching), :mod:`bot.pipeline` (one audio request),
:mod:`bot.views` (embeds and buttons), :mod:`bot.limits` (Discord's size limits),
:mod:`bot.checks`, :mod:`bot.errors`, :mod:`bot.lag` and ``bot/cogs/``. The bot holds no
recommendation logic: it calls :class:`musicrec_core.recommender.Recommender`.
"""
