"""The request service every front end calls: the bot (:mod:`bot`) and the HTTP API.

Layout: :mod:`.service` (:class:`~.service.RecommendService`: admission, the work within
the deadline, titles; counted in :mod:`musicrec_core.metrics`), :mod:`.request` (what is
asked and who asks), :mod:`.settings` (the ``MUSICREC_`` settings both front ends share),
:mod:`.admission` (a Discord member's cooldown and in-flight limit), :mod:`.batching`
(tickets and micro-batched embedding), :mod:`.scheduler` (fair worker pools),
:mod:`.youtube_links` and :mod:`.youtube_charge` (the clip cache, the YouTube budget and
its shares, fetches), :mod:`.off_loop` (calls on files shared with other processes, kept
off the event loop), :mod:`.vocabulary` (the served catalog's steering words),
:mod:`.catalog_reload` (the process's catalog reloads, whichever front end asks).
"""
