"""``musicrec-bot`` / ``python -m bot``: run the bot, or sync its commands on demand.

Usage::

    musicrec-bot                      # run with settings from the environment / .env
    musicrec-bot --sync               # publish the commands globally, then exit
    musicrec-bot --sync --guild ID    # publish them to one server (visible at once)

Without ``MUSICREC_INDEX_DIR`` the bot serves the default catalog from the cache, and the
first start fetches and builds it (:mod:`musicrec_core.catalog.default`) before contacting
Discord. Start-up problems (no token, a refused token, no index, no model weights, the
default catalog's downloads failing, a refused privileged intent, an unusable yt-dlp
cookies file) end the program with exit status 1 and ONE line saying what to do. Besides,
the bot runs ``musicrec doctor``'s checks with its settings (and its Discord URLs) in the
background at start-up and logs one line per check (``FIX`` lines as warnings); they never
stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import discord
import yarl

from bot.logging_setup import get_logger, setup_logging
from bot.settings import Settings, load_settings
from musicrec_core.errors import MusicrecError
from musicrec_core.service.workers import configure_workers
from musicrec_core.tf_banner import silence_tensorflow_banner

log = get_logger("bot")

TOKEN_REFUSED = (
    "Discord refused DISCORD_TOKEN: copy a fresh token from the Developer Portal "
    "(Bot -> Reset Token) into .env."
)
INTENT_REFUSED = (
    "Discord refused the Message Content intent: switch on Bot -> Privileged Gateway Intents "
    "-> Message Content Intent in the Developer Portal, or set MUSICREC_LINK_REPLIES=false."
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="musicrec-bot", description="Run the musicrec Discord bot."
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="publish the slash commands and context menu to Discord, then exit",
    )
    parser.add_argument(
        "--guild", type=int, metavar="ID", help="with --sync: publish to this server only"
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        metavar="PATH",
        help="settings file read besides the environment (default: .env)",
    )
    args = parser.parse_args(argv)
    if args.guild is not None and not args.sync:
        parser.error("--guild only goes with --sync")
    return args


def start_doctor(settings: Settings) -> threading.Thread:
    """Run the doctor's checks with the bot's settings in a daemon thread, logging each line.

    A background thread, because the checks start yt-dlp and hash weight files (seconds)
    while the bot loads its catalog; a FIX is logged as a warning and never stops the bot.
    """
    from musicrec_core.doctor import DoctorInputs, Status, check_private_url, run_doctor

    inputs = DoctorInputs(
        index_dir=settings.index_dir,
        cookies=settings.ytdlp_cookies,
        proxy=settings.ytdlp_proxy.get_secret_value() if settings.ytdlp_proxy else None,
        js_runtime=settings.ytdlp_js_runtime,
        weights=settings.weight_files,
    )
    discord_urls = [
        check_private_url(
            "Discord API URL", settings.discord_api_url, secure="https", plain="http"
        ),
        check_private_url(
            "Discord Gateway URL", settings.discord_gateway_url, secure="wss", plain="ws"
        ),
    ]

    def run() -> None:
        try:
            findings = run_doctor(inputs, extra=discord_urls)
        except Exception:
            log.exception("doctor: the start-up checks failed; run `musicrec doctor`")
            return
        for finding in findings:
            level = logging.WARNING if finding.status is Status.FIX else logging.INFO
            log.log(level, "doctor: %s", finding.line())

    thread = threading.Thread(target=run, name="musicrec-doctor", daemon=True)
    thread.start()
    return thread


def point_discord_at(settings: Settings) -> None:
    """Send discord.py's HTTP and Gateway traffic to the configured URLs."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def run_bot(settings: Settings) -> None:
    """Log in, load the catalog (setup_hook) and serve until closed."""
    from bot.app import MusicrecBot

    async with MusicrecBot(settings) as bot:
        await bot.start(settings.token, reconnect=True)


async def sync_commands(settings: Settings, guild_id: int | None) -> int:
    """Publish the command tree (globally or to one guild); returns how many were synced."""
    from bot.app import MusicrecBot

    async with MusicrecBot(settings, load_engine=False) as bot:
        await bot.login(settings.token)
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
        return len(synced)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except MusicrecError as exc:
        print(f"musicrec-bot: {exc}", file=sys.stderr)
        return 1
    setup_logging(
        level=settings.log_level,
        log_file=settings.log_file,
        secrets=settings.log_secrets,
        log_format=settings.log_format,
    )
    if settings.log_level.upper() != "DEBUG":
        # TensorFlow is imported while the catalog loads (before the gateway connects, so
        # nothing else is writing to stderr then); its C++ banner is noise in the log.
        silence_tensorflow_banner()
    point_discord_at(settings)
    configure_workers(settings)
    try:
        if args.sync:
            count = asyncio.run(sync_commands(settings, args.guild))
            where = f"server {args.guild}" if args.guild is not None else "every server"
            print(f"musicrec-bot: synced {count} commands to {where}.")
        else:
            settings = settings.with_catalog()
            start_doctor(settings)
            asyncio.run(run_bot(settings))
    except discord.LoginFailure:
        print(f"musicrec-bot: {TOKEN_REFUSED}", file=sys.stderr)
        return 1
    except discord.PrivilegedIntentsRequired:
        print(f"musicrec-bot: {INTENT_REFUSED}", file=sys.stderr)
        return 1
    except MusicrecError as exc:
        print(f"musicrec-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
