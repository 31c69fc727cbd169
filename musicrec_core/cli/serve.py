"""``musicrec serve [--host 127.0.0.1] [--port N] [--index DIR]``: the HTTP API (issue 21).

::

    musicrec api-key add jukebox          # once: prints the key
    musicrec serve --port 8750            # serves MUSICREC_INDEX_DIR (else the default catalog)
    curl -H "Authorization: Bearer $KEY" "http://127.0.0.1:8750/v1/similar?seed=dQw4w9WgXcQ"

Settings come from the environment and ``.env``, as for the bot: the service's
``MUSICREC_`` limits and the server's ``MUSICREC_API_`` ones (docs/api.md); ``--host``,
``--port`` and ``--index`` override them. A setting that does not parse is one line on
stderr and exit 1, as is a catalog that cannot be served (no index at the folder named).
The server logs to stderr at INFO, ``listening on http://HOST:PORT`` once it serves (the
port the system picked, with ``--port 0``), and runs until SIGINT or SIGTERM (exit 0, its
worker processes ended); SIGHUP reloads the catalog.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pydantic import ValidationError

from musicrec_core.cli.exit_codes import EXIT_OK
from musicrec_core.service.settings import ConfigurationError, settings_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API (recommend, similar, mix, path, discover)",
        description="Serve musicrec's HTTP API; keys come from `musicrec api-key add`.",
    )
    parser.add_argument("--host", help="address to listen on (default MUSICREC_API_HOST)")
    parser.add_argument("--port", type=int, help="TCP port (default MUSICREC_API_PORT, 8750)")
    parser.add_argument("--index", type=Path, help="index folder (default MUSICREC_INDEX_DIR)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from musicrec_core.api.settings import ENV_PREFIX as API_PREFIX
    from musicrec_core.api.settings import ApiSettings
    from musicrec_core.service.settings import ServiceSettings

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        raise ConfigurationError(settings_error(exc, _see_example)) from None
    try:
        api = ApiSettings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(settings_error(exc, _see_example, API_PREFIX)) from None
    if args.index is not None:
        settings = settings.model_copy(update={"index_dir": args.index})
    settings = settings.with_catalog()
    assert settings.index_dir is not None
    from musicrec_core.catalog.index.manifest import resolve_version_dir

    # No index there is the common mistake: said in one line, before the server starts.
    resolve_version_dir(settings.index_dir, bare_version_ok=False)
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    from musicrec_core.api.runner import run_server  # the server's imports, once settings read
    from musicrec_core.api.serve import serving_app
    from musicrec_core.service.workers import configure_workers

    configure_workers(settings)
    run_server(serving_app(settings, api), api)
    return EXIT_OK


def _see_example(name: str) -> str:
    return "see .env.example"
