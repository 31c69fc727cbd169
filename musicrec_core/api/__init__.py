"""The pieces of the HTTP API that do not need a server: API keys and their limits.

:mod:`~musicrec_core.api.key_limits` says what one key may do, :mod:`~musicrec_core.api.keys`
stores the keys (hashed) in the cache folder, and :mod:`~musicrec_core.api.rate` enforces a
key's request rate and in-flight limit in the process that serves it.
"""
