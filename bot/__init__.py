"""The musicrec Discord bot (discord.py 2.x).

Layout: :mod:`bot.__main__` (command line), :mod:`bot.app` (Bot subclass, command tree,
catalog loading and reloads), :mod:`bot.settings`, :mod:`bot.logging_setup`,
:mod:`bot.request` (a Discord input as one audio request), :mod:`bot.service` (the Discord
front of the core request service every entry point calls: who asks, acknowledging,
replying), :mod:`bot.views` (embeds and buttons), :mod:`bot.limits` (Discord's size
limits), :mod:`bot.checks`, :mod:`bot.errors`, :mod:`bot.lag` and ``bot/cogs/`` (the entry
points). The bot holds no recommendation logic: admission, fetching, recommending and
titles are :class:`musicrec_core.service.service.RecommendService`'s, shared with the HTTP
API.
"""
