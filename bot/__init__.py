"""The musicrec Discord bot (discord.py 2.x).

Layout: :mod:`bot.__main__` (command line), :mod:`bot.app` (Bot subclass, command tree,
catalog loading and reloads), :mod:`bot.settings`, :mod:`bot.logging_setup`,
:mod:`bot.request` (validating one audio request), :mod:`bot.service` (the request
service every entry point calls: admission, fetching, recommending, replying),
:mod:`bot.batching` (the service's queue: tickets, decode pool, micro-batching),
:mod:`bot.views` (embeds and buttons), :mod:`bot.limits` (Discord's size limits),
:mod:`bot.checks`, :mod:`bot.errors`, :mod:`bot.lag` and ``bot/cogs/`` (the entry points).
The bot holds no recommendation logic: it calls
:class:`musicrec_core.recommender.Recommender`.
"""
