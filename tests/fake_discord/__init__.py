"""A fake Discord (HTTP API, Gateway, CDN) on 127.0.0.1 for end-to-end tests of the bot."""

from tests.fake_discord.server import FakeDiscord, Record

__all__ = ["FakeDiscord", "Record"]
