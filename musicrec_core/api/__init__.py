"""The HTTP API (``musicrec serve``) apart from its endpoints, which call the core request
service.

Keys and limits: :mod:`~musicrec_core.api.key_limits` (what one key may do),
:mod:`~musicrec_core.api.keys` (the hashed key file), :mod:`~musicrec_core.api.rate` (token
bucket and in-flight counter), :mod:`~musicrec_core.api.auth` (the ``require_caller``
dependency). Transport: :mod:`~musicrec_core.api.settings` (``MUSICREC_API_*``),
:mod:`~musicrec_core.api.app` (``create_app``), :mod:`~musicrec_core.api.runner` (uvicorn),
:mod:`~musicrec_core.api.connection_guard` and :mod:`~musicrec_core.api.body_guard` (the
caps), :mod:`~musicrec_core.api.http_errors` (the JSON error shape),
:mod:`~musicrec_core.api.upload` (``receive_upload``). Answers:
:mod:`~musicrec_core.api.answers` (``answer_from``, public ids) and
:mod:`~musicrec_core.api.health` (``/healthz``, ``/metrics``).
"""
