"""A fake Discord: the HTTP API, Gateway and CDN subset musicrec's bot uses, on 127.0.0.1.

Mental model: one :class:`FakeDiscord` is one Discord with one application (the bot),
one server ("guild") with one text channel and four members (an admin with Manage
Server, a member holding the musicrec admin role, a plain member and the application
owner, who has no special permission in the server), and a second server, "elsewhere",
whose one channel can take interactions: there the admin manages the server too (a
Manage Server member of a server the operator did not name), the owner is a plain member
and the others are plain members. It runs an aiohttp server in its own thread, so tests and
benchmarks drive it with plain blocking calls:

* :meth:`slash_command`, :meth:`click`, :meth:`message_command` and :meth:`post_message`
  dispatch INTERACTION_CREATE / MESSAGE_CREATE over the gateway and return the ids
  (in the first server; ``slash_command(..., elsewhere=True)`` runs one in the second);
* :meth:`autocomplete` dispatches what Discord sends while a member types an option
  declared ``autocomplete: true`` (interaction type 4, the options typed so far, one
  ``focused``); the bot must answer with type 8 and at most 25 choices, each with a name of
  1-100 characters and a value of at most 100 (:func:`~tests.fake_discord.limits.
  autocomplete_violations`), never with a deferral or a message;
* :meth:`wait_reply` waits for the answer to an interaction, :meth:`wait_records` for
  any recorded request;
* :attr:`records` holds every request the bot made (method, path, JSON body, status; a
  file upload's ``payload_json`` and files, :mod:`tests.fake_discord.uploads`) and
  :attr:`violations` every rule it broke: Discord's message limits
  (:mod:`tests.fake_discord.limits`) and upload limits, the 3-second acknowledgement
  deadline, the 15-minute interaction-token lifetime, double acknowledgements, a wrong
  token, a bad shard.

Sharding: IDENTIFY's ``shard`` field ``[shard_id, num_shards]`` (absent: ``[0, 1]``) is
checked (an id outside the count, a count other than the open sessions' or a shard
already connected closes the socket with 4010 "Invalid shard", a violation) and each
session receives only the servers, and the events of the servers, that Discord's rule
``(guild_id >> 22) % num_shards`` gives its shard. ``guild_shards=N`` picks the servers'
ids so that the first server is on shard 0, the second on shard 1, and so on round-robin
(``extra_guilds`` adds plain servers with one channel, after the first two), and
``GET /gateway/bot`` recommends ``guild_shards`` shards.

Speaks what discord.py 2.5+ needs: ``GET /users/@me``, ``GET /oauth2/applications/@me``,
``GET /gateway``, the websocket (HELLO, IDENTIFY -> READY with ``resume_gateway_url`` ->
GUILD_CREATE, heartbeat ACKs, dispatches), ``POST /interactions/{id}/{token}/callback``
(``with_response=1`` answered with ``{"interaction", "resource"}``), follow-up webhooks
(``POST /webhooks/{app}/{token}``, ``GET/PATCH/DELETE .../messages/@original``),
``POST /channels/{id}/messages`` and ``/typing``, bulk command overwrites (``PUT
/applications/{app}[/guilds/{id}]/commands``) and a CDN route serving attachments.
Responses carry ``Content-Type: application/json`` exactly (discord.py ignores any other).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.fake_discord import payloads
from tests.fake_discord.limits import autocomplete_violations, message_violations
from tests.fake_discord.payloads import JSON
from tests.fake_discord.uploads import Upload, read_body, upload_violations

T = TypeVar("T")

API_PREFIX = "/api/v10"
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
AUTOCOMPLETE_OPTION_TYPES = (3, 4, 10)
"""Option types Discord lets autocomplete: string, integer, number."""
HEARTBEAT_INTERVAL_MS = 41_250
MESSAGE_CONTENT_INTENT = 1 << 15
INVALID_SHARD = 4010


@dataclass
class Record:
    """One request the bot made.

    Attributes:
        method: HTTP method.
        path: path without the ``/api/v10`` prefix (CDN paths keep ``/cdn``).
        query: query parameters.
        body: parsed JSON body (a multipart body's ``payload_json``; None when there was
            none).
        status: the status the fake answered with.
        at: ``time.monotonic()`` when it arrived.
        interaction_id: the interaction it answers, if any.
        kind: "callback", "followup", "edit_original", "delete_original",
            "channel_message", "typing", "command_sync", "cdn" or "other".
        uploads: the files of a multipart body (:mod:`tests.fake_discord.uploads`).
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    at: float
    interaction_id: str | None = None
    kind: str = "other"
    uploads: tuple[Upload, ...] = ()


@dataclass
class _Interaction:
    id: str
    token: str
    dispatched_at: float
    channel_id: str
    guild_id: str | None = None
    acknowledged: int | None = None
    ephemeral: bool = False
    original: JSON | None = None
    awaiting_followup: bool = False
    replies: list[JSON] = field(default_factory=list)
    kind: int = INTERACTION_APPLICATION_COMMAND


class FakeDiscord:
    """A Discord stand-in; see the module docstring.

    Args:
        token: the bot token it accepts.
        ack_deadline_s: time allowed to acknowledge an interaction (Discord: 3 s).
        token_ttl_s: lifetime of an interaction token for follow-ups (Discord: 15 min).
        allow_message_content: False makes the gateway refuse the Message Content intent
            (close code 4014), as Discord does when the portal switch is off.
        extra_members: names of more plain members of the first server (e.g. several
            polite members beside a flooding one), usable as ``who``.
        guild_shards: the servers' ids spread them round-robin over this many shards;
            also the shard count ``GET /gateway/bot`` recommends.
        extra_guilds: plain servers besides the first two (everyone a plain member).
    """

    def __init__(
        self,
        *,
        token: str,
        ack_deadline_s: float = 3.0,
        token_ttl_s: float = 15 * 60.0,
        allow_message_content: bool = True,
        extra_members: Sequence[str] = (),
        guild_shards: int = 1,
        extra_guilds: int = 0,
    ) -> None:
        self.token = token
        self.guild_shards = guild_shards
        self.extra_guilds = extra_guilds
        self.extra_members = tuple(extra_members)
        self.ack_deadline_s = ack_deadline_s
        self.token_ttl_s = token_ttl_s
        self.allow_message_content = allow_message_content
        self.typing_error: tuple[int, int, str] | None = None
        """(HTTP status, Discord error code, message) the typing endpoint answers with
        instead of 204 while set, e.g. ``(403, 50013, "Missing Permissions")``."""
        self.records: list[Record] = []
        self.violations: list[str] = []
        self.identified_intents: list[int] = []
        self.identified_shards: list[tuple[int, int]] = []
        self.dispatched_to: dict[str, int] = {}
        """Interaction id -> the shard whose session it was sent to."""
        self._ids = payloads.Snowflakes()
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._sockets: dict[web.WebSocketResponse, tuple[int, int]] = {}
        """Identified sessions -> their ``(shard_id, num_shards)``."""
        self._sequence = 0
        self._interactions: dict[str, _Interaction] = {}
        self._messages: dict[str, JSON] = {}
        self._cdn: dict[str, tuple[bytes, str]] = {}
        self.port = 0
        self._build_world()

    # The world ---------------------------------------------------------------------------

    def _build_world(self) -> None:
        ids = self._ids
        self.application_id = ids.next()
        self.bot_user = payloads.user(self.application_id, "musicrec", bot=True)
        self.guild_id = ids.next(shard=0, shards=self.guild_shards)
        self.admin_role_id = ids.next()
        self.channel_id = ids.next()
        self.users = {
            name: payloads.user(ids.next(), name)
            for name in ("admin", "dj", "member", "owner", "otherbot", *self.extra_members)
        }
        self.users["otherbot"]["bot"] = True
        everyone = payloads.role(self.guild_id, "@everyone", payloads.MEMBER_PERMISSIONS, 0)
        admin_role = payloads.role(self.admin_role_id, "musicrec admin", 0, 1)
        manager_role_id = ids.next()
        manager_role = payloads.role(manager_role_id, "manager", payloads.MANAGE_GUILD, 2)
        self.member_roles = {
            "admin": [manager_role_id],
            "dj": [self.admin_role_id],
            "member": [],
            "owner": [],
            "otherbot": [],
        } | {name: [] for name in self.extra_members}
        self.member_permissions = {
            "admin": payloads.ADMIN_PERMISSIONS,
            "dj": payloads.MEMBER_PERMISSIONS,
            "member": payloads.MEMBER_PERMISSIONS,
            "owner": payloads.MEMBER_PERMISSIONS,
            "otherbot": payloads.MEMBER_PERMISSIONS,
        } | {name: payloads.MEMBER_PERMISSIONS for name in self.extra_members}
        self.channel = payloads.text_channel(self.channel_id, self.guild_id, "music", 0)
        members = [payloads.member(self.bot_user, [])] + [
            payloads.member(self.users[name], self.member_roles[name]) for name in self.users
        ]
        self.guild = payloads.guild(
            self.guild_id,
            "Test server",
            owner_id=self.users["admin"]["id"],
            roles=[everyone, admin_role, manager_role],
            channels=[self.channel],
            members=members,
        )
        self._build_elsewhere()
        self.more_guilds = [self._plain_guild(2 + number) for number in range(self.extra_guilds)]
        self.guilds = [self.guild, self.elsewhere_guild, *self.more_guilds]
        """Every server of the world, in id order (shard ``n % guild_shards`` for the n-th)."""
        self._channels = {guild["id"]: guild["channels"][0] for guild in self.guilds}

    def _build_elsewhere(self) -> None:
        ids = self._ids
        self.elsewhere_guild_id = ids.next(shard=1 % self.guild_shards, shards=self.guild_shards)
        self.elsewhere_channel_id = ids.next()
        manager_role_id = ids.next()
        everyone = payloads.role(
            self.elsewhere_guild_id, "@everyone", payloads.MEMBER_PERMISSIONS, 0
        )
        manager_role = payloads.role(manager_role_id, "owner's friends", payloads.MANAGE_GUILD, 1)
        self.elsewhere_roles = {name: [] for name in self.users} | {"admin": [manager_role_id]}
        self.elsewhere_channel = payloads.text_channel(
            self.elsewhere_channel_id, self.elsewhere_guild_id, "general", 0
        )
        members = [payloads.member(self.bot_user, [])] + [
            payloads.member(self.users[name], self.elsewhere_roles[name]) for name in self.users
        ]
        self.elsewhere_guild = payloads.guild(
            self.elsewhere_guild_id,
            "Somebody else's server",
            owner_id=self.users["admin"]["id"],
            roles=[everyone, manager_role],
            channels=[self.elsewhere_channel],
            members=members,
        )

    def _plain_guild(self, position: int) -> JSON:
        """Server number ``position`` (on shard ``position % guild_shards``): one channel,
        every user a plain member."""
        ids = self._ids
        guild_id = ids.next(shard=position % self.guild_shards, shards=self.guild_shards)
        channel = payloads.text_channel(ids.next(), guild_id, "chat", 0)
        everyone = payloads.role(guild_id, "@everyone", payloads.MEMBER_PERMISSIONS, 0)
        members = [payloads.member(self.bot_user, [])] + [
            payloads.member(self.users[name], []) for name in self.users
        ]
        return payloads.guild(
            guild_id,
            f"Server {position}",
            owner_id=self.users["member"]["id"],
            roles=[everyone],
            channels=[channel],
            members=members,
        )

    def shard_of(self, guild_id: str, shards: int | None = None) -> int:
        """The shard (of ``shards``, default ``guild_shards``) that gets ``guild_id``'s events."""
        return payloads.shard_of(guild_id, shards or self.guild_shards)

    def application(self) -> JSON:
        """The application object (``GET /oauth2/applications/@me``)."""
        return {
            "id": self.application_id,
            "name": "musicrec",
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "bot": self.bot_user,
            "owner": self.users["owner"],
            "team": None,
            "verify_key": "0" * 64,
            "flags": 1 << 19,
            "interactions_endpoint_url": None,
            "tags": [],
            "redirect_uris": [],
        }

    # Life cycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Value for ``MUSICREC_DISCORD_API_URL``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``MUSICREC_DISCORD_GATEWAY_URL``."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def start(self) -> FakeDiscord:
        """Start serving on a free port of 127.0.0.1 (in a background thread)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._stop_site())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-discord", daemon=True)
        self._thread.start()
        started.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{attachment_id}/{filename}", self._cdn_file)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        if server is None or not server.sockets:
            raise RuntimeError("the fake Discord could not listen")
        self.port = server.sockets[0].getsockname()[1]

    async def _stop_site(self) -> None:
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):
                await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            raise RuntimeError("start() the fake Discord first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    # Recording ---------------------------------------------------------------------------

    def _record(self, record: Record) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def _violation(self, text: str) -> None:
        with self._changed:
            self.violations.append(text)
            self._changed.notify_all()

    def wait_records(
        self, predicate: Callable[[Record], bool], *, count: int = 1, timeout: float = 60.0
    ) -> list[Record]:
        """Block until ``count`` recorded requests match ``predicate``; returns them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [record for record in self.records if predicate(record)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"waited {timeout} s for {count} matching requests; saw "
                        f"{[(r.method, r.path, r.status) for r in self.records[-10:]]}"
                    )
                self._changed.wait(left)

    def wait_reply(self, interaction_id: str, *, timeout: float = 120.0) -> JSON:
        """The message that answers an interaction, once it exists.

        Returns ``{"kind": "message" | "followup" | "edit_original", "ephemeral": bool,
        "payload": <the bot's JSON>, "message": <the message object>, "files": <its
        uploads, :class:`~tests.fake_discord.uploads.Upload`>, "at": <monotonic time it
        arrived>}``: the callback's
        message (type 4 / 7), or the first follow-up or original-response edit after a
        deferral; for an autocomplete interaction ``{"kind": "autocomplete", "choices":
        [...], "payload": <the bot's data>, "at": ...}``.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                state = self._interactions.get(interaction_id)
                if state is not None and state.replies:
                    return state.replies[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"interaction {interaction_id} got no reply in {timeout} s")
                self._changed.wait(left)

    def replies(self, interaction_id: str) -> list[JSON]:
        """Every reply to an interaction so far (see :meth:`wait_reply`)."""
        with self._changed:
            state = self._interactions.get(interaction_id)
            return list(state.replies) if state else []

    def dispatched_at(self, interaction_id: str) -> float:
        """``time.monotonic()`` when the interaction was sent to the bot."""
        with self._changed:
            return self._interactions[interaction_id].dispatched_at

    def acknowledgement(self, interaction_id: str) -> int | None:
        """The callback type the bot acknowledged an interaction with (None: not yet)."""
        with self._changed:
            state = self._interactions.get(interaction_id)
            return state.acknowledged if state else None

    # Driving the bot ---------------------------------------------------------------------

    def member(self, who: str, *, elsewhere: bool = False, guild: str | None = None) -> JSON:
        """The member object of one of the world's users, with permissions in the channel
        (of the first server, of the second one when ``elsewhere``, or of ``guild``)."""
        guild_id = self.elsewhere_guild_id if elsewhere else guild or self.guild_id
        if guild_id == self.guild_id:
            return payloads.member(
                self.users[who], self.member_roles[who], permissions=self.member_permissions[who]
            )
        if guild_id == self.elsewhere_guild_id:
            roles = self.elsewhere_roles[who]
            permissions = payloads.ADMIN_PERMISSIONS if roles else payloads.MEMBER_PERMISSIONS
            return payloads.member(self.users[who], roles, permissions=permissions)
        return payloads.member(self.users[who], [], permissions=payloads.MEMBER_PERMISSIONS)

    def add_attachment(self, data: bytes, filename: str, content_type: str | None) -> JSON:
        """Serve ``data`` from the CDN and return the attachment object describing it."""
        attachment_id = self._ids.next()
        with self._changed:
            self._cdn[attachment_id] = (data, content_type or "application/octet-stream")
        url = f"{self.base_url}/cdn/attachments/{attachment_id}/{filename}"
        return payloads.attachment(attachment_id, filename, len(data), url, content_type)

    def slash_command(
        self,
        name: str,
        options: list[JSON] | None = None,
        *,
        who: str = "member",
        attachments: list[JSON] | None = None,
        elsewhere: bool = False,
        guild: str | None = None,
    ) -> str:
        """Dispatch a chat-input command; ``name`` may be "group sub". Returns its id.

        It is typed in the first server, or in the second when ``elsewhere``, or in
        ``guild`` (any server's id), and goes to the session running that server's shard."""
        parts = name.split()
        options = options or []
        if len(parts) == 2:
            options = [{"name": parts[1], "type": 1, "options": options}]
        data: JSON = {"id": self._ids.next(), "name": parts[0], "type": 1, "options": options}
        if attachments:
            data["resolved"] = {"attachments": {item["id"]: item for item in attachments}}
        return self._dispatch_interaction(
            INTERACTION_APPLICATION_COMMAND, data, who=who, elsewhere=elsewhere, guild=guild
        )

    def autocomplete(self, name: str, options: list[JSON], *, who: str = "member") -> str:
        """Dispatch an autocomplete interaction (type 4) for chat-input command ``name``, as
        Discord sends one while a member types: ``options`` are those typed so far (values
        as typed, possibly incomplete), exactly one of them marked ``"focused": True``.
        Returns its id; :meth:`wait_reply` gives ``{"kind": "autocomplete", "choices": [...]}``.

        Raises:
            ValueError: not exactly one option is focused (Discord always marks one).
        """
        if sum(bool(option.get("focused")) for option in options) != 1:
            raise ValueError("an autocomplete interaction has exactly one focused option")
        data: JSON = {"id": self._ids.next(), "name": name, "type": 1, "options": options}
        return self._dispatch_interaction(INTERACTION_AUTOCOMPLETE, data, who=who)

    def message_command(self, name: str, target: JSON, *, who: str = "member") -> str:
        """Dispatch a message context-menu command on ``target``. Returns its id."""
        data: JSON = {
            "id": self._ids.next(),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        return self._dispatch_interaction(INTERACTION_APPLICATION_COMMAND, data, who=who)

    def click(self, message: JSON, custom_id: str, *, who: str = "member") -> str:
        """Dispatch a button click on ``message`` (a message the bot sent). Returns its id."""
        data: JSON = {"custom_id": custom_id, "component_type": 2}
        return self._dispatch_interaction(
            INTERACTION_COMPONENT, data, who=who, message_data=message
        )

    def post_message(
        self, content: str, *, who: str = "member", attachments: list[JSON] | None = None
    ) -> JSON:
        """A user posts a message in the channel (MESSAGE_CREATE). Returns the message."""
        message = payloads.message(
            self._ids.next(),
            self.channel_id,
            self.users[who],
            content=content,
            attachments=attachments,
            guild_id=self.guild_id,
        )
        with self._changed:
            self._messages[message["id"]] = message
        event = dict(message, member=payloads.member(self.users[who], self.member_roles[who]))
        del event["member"]["user"]
        self._call(self._dispatch("MESSAGE_CREATE", event, self.guild_id))
        return message

    def _dispatch_interaction(
        self,
        kind: int,
        data: JSON,
        *,
        who: str,
        message_data: JSON | None = None,
        elsewhere: bool = False,
        guild: str | None = None,
    ) -> str:
        interaction_id = self._ids.next()
        token = f"itoken-{interaction_id}"
        guild_id = self.elsewhere_guild_id if elsewhere else guild or self.guild_id
        channel = self._channels[guild_id]
        payload = payloads.interaction(
            interaction_id,
            application_id=self.application_id,
            interaction_type=kind,
            token=token,
            guild_id=guild_id,
            channel=channel,
            invoker=self.member(who, guild=guild_id),
            data=data,
            message_data=message_data,
        )
        with self._changed:
            self._interactions[interaction_id] = _Interaction(
                interaction_id, token, time.monotonic(), channel["id"], guild_id, kind=kind
            )
        shard = self._call(self._dispatch("INTERACTION_CREATE", payload, guild_id))
        with self._changed:
            self.dispatched_to[interaction_id] = shard
        return interaction_id

    async def _dispatch(self, event: str, data: JSON, guild_id: str) -> int:
        """Send a server's event to the session running its shard; returns the shard id."""
        for socket, (shard, shards) in list(self._sockets.items()):
            if payloads.shard_of(guild_id, shards) == shard:
                self._sequence += 1
                frame = {"op": 0, "t": event, "s": self._sequence, "d": data}
                await socket.send_str(json.dumps(frame))
                return shard
        raise RuntimeError(f"no bot session on the fake gateway runs server {guild_id}'s shard")

    def connected(self, shards: int = 1) -> bool:
        """Whether bot sessions are identified for all of ``shards`` shards."""
        return len(self._sockets) >= shards

    # HTTP --------------------------------------------------------------------------------

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        return web.Response(
            body=json.dumps(data).encode("utf-8"),
            status=status,
            headers={"Content-Type": "application/json"},
        )

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return self._json({"code": code, "message": message}, status)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        read = await read_body(request)
        body, uploads = read.payload, read.uploads
        if read.problems:
            for problem in read.problems:
                self._violation(f"{request.method} {path}: {problem}")
            refusal = self._error(400, 50035, "Invalid Form Body")
            response, interaction_id, kind = refusal, None, "other"
        else:
            response, interaction_id, kind = self._route(
                request.method, path, body, request, uploads
            )
        self._record(
            Record(
                request.method,
                path,
                dict(request.query),
                body,
                response.status,
                time.monotonic(),
                interaction_id,
                kind,
                uploads,
            )
        )
        return response

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _route(
        self,
        method: str,
        path: str,
        body: Any,
        request: web.Request,
        uploads: tuple[Upload, ...] = (),
    ) -> tuple[web.Response, str | None, str]:
        parts = path.strip("/").split("/")
        if parts[:1] == ["interactions"] and len(parts) == 4 and parts[3] == "callback":
            return self._callback(parts[1], parts[2], body, uploads), parts[1], "callback"
        if parts[:1] == ["webhooks"] and len(parts) >= 3:
            return self._webhook(method, parts, body, uploads)
        if not self._authorised(request):
            self._violation(f"{method} {path} with a wrong or missing token")
            return self._error(401, 0, "401: Unauthorized"), None, "other"
        if method == "GET" and path == "/users/@me":
            return self._json(self.bot_user), None, "other"
        if method == "GET" and path == "/oauth2/applications/@me":
            return self._json(self.application()), None, "other"
        if method == "GET" and path in ("/gateway", "/gateway/bot"):
            data: JSON = {"url": self.gateway_url}
            if path == "/gateway/bot":
                data |= {
                    "shards": self.guild_shards,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            return self._json(data), None, "other"
        if method == "PUT" and parts[:1] == ["applications"] and parts[-1] == "commands":
            guild_id = parts[3] if len(parts) == 5 and parts[2] == "guilds" else None
            return self._json(self._sync(body or [], guild_id)), None, "command_sync"
        if parts[:1] == ["channels"] and len(parts) == 3 and parts[1] == self.channel_id:
            if method == "POST" and parts[2] == "messages":
                return self._channel_message(body or {}, uploads), None, "channel_message"
            if method == "POST" and parts[2] == "typing":
                if self.typing_error is not None:
                    return self._error(*self.typing_error), None, "typing"
                return web.Response(status=204), None, "typing"
        self._violation(f"unexpected request {method} {path}")
        return self._error(404, 0, "404: Not Found"), None, "other"

    def _sync(self, commands: list[JSON], guild_id: str | None) -> list[JSON]:
        synced = []
        for command in commands:
            for option in command.get("options") or []:
                if option.get("autocomplete") and (
                    option.get("choices") or option.get("type") not in AUTOCOMPLETE_OPTION_TYPES
                ):
                    self._violation(
                        f"/{command['name']} {option['name']}: autocomplete needs a string or "
                        "number option without fixed choices"
                    )
            entry = {
                "id": self._ids.next(),
                "application_id": self.application_id,
                "version": self._ids.next(),
                "type": command.get("type", 1),
                "name": command["name"],
                "description": command.get("description", ""),
                "options": command.get("options", []),
                "default_member_permissions": command.get("default_member_permissions"),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
            }
            if guild_id is not None:
                entry["guild_id"] = guild_id
            synced.append(entry)
        return synced

    def _new_message(
        self,
        payload: JSON,
        *,
        flags: int,
        reference: JSON | None = None,
        where: _Interaction | None = None,
    ) -> JSON:
        """A message of the bot in the first server's channel, or in ``where``'s channel."""
        message = payloads.message(
            self._ids.next(),
            where.channel_id if where else self.channel_id,
            self.bot_user,
            content=payload.get("content") or "",
            embeds=payload.get("embeds"),
            components=payload.get("components"),
            flags=flags,
            guild_id=where.guild_id if where and where.guild_id else self.guild_id,
            application_id=self.application_id,
            message_reference=reference,
        )
        self._messages[message["id"]] = message
        return message

    def _check_limits(
        self, where: str, payload: JSON, uploads: tuple[Upload, ...] = ()
    ) -> web.Response | None:
        problems = message_violations(payload) + upload_violations(uploads)
        if not problems:
            return None
        for problem in problems:
            self._violation(f"{where}: {problem}")
        return self._json({"code": 50035, "message": "Invalid Form Body", "errors": problems}, 400)

    def _channel_message(self, body: JSON, uploads: tuple[Upload, ...]) -> web.Response:
        refused = self._check_limits("channel message", body, uploads)
        if refused is not None:
            return refused
        reference = body.get("message_reference")
        message = self._new_message(body, flags=int(body.get("flags") or 0), reference=reference)
        return self._json(message)

    def _callback(
        self, interaction_id: str, token: str, body: Any, uploads: tuple[Upload, ...]
    ) -> web.Response:
        with self._changed:
            state = self._interactions.get(interaction_id)
            if state is None or state.token != token:
                self._violation(f"callback for unknown interaction {interaction_id}")
                return self._error(404, 10062, "Unknown interaction")
            elapsed = time.monotonic() - state.dispatched_at
            if elapsed > self.ack_deadline_s:
                self._violation(f"interaction {interaction_id} acknowledged after {elapsed:.2f} s")
                return self._error(404, 10062, "Unknown interaction")
            if state.acknowledged is not None:
                self._violation(f"interaction {interaction_id} acknowledged twice")
                return self._error(400, 40060, "Interaction has already been acknowledged.")
            kind = int(body.get("type", 0))
            data = body.get("data") or {}
            refused = self._autocomplete_refusal(state, kind, data)
            if refused is not None:
                return refused
            ephemeral = bool(int(data.get("flags") or 0) & payloads.EPHEMERAL_FLAG)
            if kind in (CALLBACK_MESSAGE, CALLBACK_UPDATE_MESSAGE):
                refused = self._check_limits(
                    f"interaction {interaction_id} callback", data, uploads
                )
                if refused is not None:
                    return refused
            state.acknowledged = kind
            state.ephemeral = ephemeral
            flags = payloads.EPHEMERAL_FLAG if ephemeral else 0
            resource: JSON = {"type": kind}
            if kind == CALLBACK_MESSAGE:
                message = self._new_message(data, flags=flags, where=state)
                state.original = message
                state.replies.append(
                    {"kind": "message", "ephemeral": ephemeral, "payload": data, "message": message}
                    | {"files": list(uploads), "at": time.monotonic()}
                )
                resource["message"] = message
            elif kind == CALLBACK_DEFERRED_MESSAGE:
                message = self._new_message({}, flags=flags | payloads.LOADING_FLAG, where=state)
                state.original = message
                state.awaiting_followup = True
                resource["message"] = message
            elif kind == CALLBACK_AUTOCOMPLETE_RESULT:
                state.replies.append(
                    {"kind": "autocomplete", "choices": data["choices"], "payload": data}
                    | {"at": time.monotonic()}
                )
            elif kind == CALLBACK_UPDATE_MESSAGE:
                state.replies.append(
                    {"kind": "update", "ephemeral": ephemeral, "payload": data, "message": None}
                    | {"files": list(uploads), "at": time.monotonic()}
                )
            self._changed.notify_all()
        answer = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_id": state.original["id"] if state.original else None,
                "response_message_loading": kind == CALLBACK_DEFERRED_MESSAGE,
                "response_message_ephemeral": ephemeral,
            },
            "resource": resource,
        }
        return self._json(answer)

    def _autocomplete_refusal(
        self, state: _Interaction, kind: int, data: JSON
    ) -> web.Response | None:
        """Discord's rules for autocomplete: an autocomplete interaction is answered only
        with choices (type 8: it cannot be deferred nor get a message), choices answer only
        an autocomplete interaction, and they keep :func:`autocomplete_violations`' limits."""
        asked = state.kind == INTERACTION_AUTOCOMPLETE
        if asked != (kind == CALLBACK_AUTOCOMPLETE_RESULT):
            if asked:
                self._violation(f"autocomplete interaction {state.id} answered with type {kind}")
            else:
                self._violation(f"choices (type 8) for {state.id}, not an autocomplete interaction")
            return self._error(400, 50035, "Invalid Form Body")
        if not asked:
            return None
        problems = autocomplete_violations(data)
        for problem in problems:
            self._violation(f"autocomplete {state.id}: {problem}")
        if problems:
            return self._json(
                {"code": 50035, "message": "Invalid Form Body", "errors": problems}, 400
            )
        return None

    def _webhook(
        self, method: str, parts: list[str], body: Any, uploads: tuple[Upload, ...]
    ) -> tuple[web.Response, str | None, str]:
        app_id, token = parts[1], parts[2]
        with self._changed:
            state = next((s for s in self._interactions.values() if s.token == token), None)
            if app_id != self.application_id or state is None:
                self._violation(f"webhook call with unknown token {token}")
                return self._error(401, 50027, "Invalid Webhook Token"), None, "other"
            if time.monotonic() - state.dispatched_at > self.token_ttl_s:
                self._violation(f"interaction {state.id} used after its token expired")
                return self._error(401, 50027, "Invalid Webhook Token"), state.id, "other"
            if state.acknowledged is None:
                self._violation(f"interaction {state.id}: webhook call before acknowledging")
                return self._error(404, 10015, "Unknown Webhook"), state.id, "other"
            original = parts[3:] == ["messages", "@original"]
            if method == "POST" and len(parts) == 3:
                return self._followup(state, body or {}, uploads), state.id, "followup"
            if original and method == "PATCH":
                return self._edit_original(state, body or {}, uploads), state.id, "edit_original"
            if original and method == "GET" and state.original is not None:
                return self._json(state.original), state.id, "other"
            if original and method == "DELETE":
                if state.original is None:
                    return self._error(404, 10008, "Unknown Message"), state.id, "other"
                # A deferral's place is gone: the next follow-up is a message of its own,
                # with the visibility it asks for.
                state.original = None
                state.awaiting_followup = False
                return web.Response(status=204), state.id, "delete_original"
        self._violation(f"unexpected webhook request {method} {'/'.join(parts)}")
        return self._error(404, 0, "404: Not Found"), state.id, "other"

    def _followup(
        self, state: _Interaction, body: JSON, uploads: tuple[Upload, ...]
    ) -> web.Response:
        refused = self._check_limits(f"interaction {state.id} follow-up", body, uploads)
        if refused is not None:
            return refused
        requested = bool(int(body.get("flags") or 0) & payloads.EPHEMERAL_FLAG)
        if state.awaiting_followup and state.original is not None:
            # The first follow-up after a deferral becomes the deferred message itself and
            # keeps the deferral's visibility.
            ephemeral = state.ephemeral
            message = dict(state.original)
            message.update(
                content=body.get("content") or "",
                embeds=body.get("embeds") or [],
                components=body.get("components") or [],
                flags=payloads.EPHEMERAL_FLAG if ephemeral else 0,
            )
            state.original = message
            state.awaiting_followup = False
            self._messages[message["id"]] = message
        else:
            ephemeral = requested
            flags = payloads.EPHEMERAL_FLAG if ephemeral else 0
            message = self._new_message(body, flags=flags, where=state)
        state.replies.append(
            {"kind": "followup", "ephemeral": ephemeral, "payload": body, "message": message}
            | {"files": list(uploads), "at": time.monotonic()}
        )
        self._changed.notify_all()
        return self._json(message)

    def _edit_original(
        self, state: _Interaction, body: JSON, uploads: tuple[Upload, ...]
    ) -> web.Response:
        if state.original is None:
            return self._error(404, 10008, "Unknown Message")
        refused = self._check_limits(f"interaction {state.id} edit", body, uploads)
        if refused is not None:
            return refused
        message = dict(state.original)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key]
        message["flags"] = int(message.get("flags") or 0) & ~payloads.LOADING_FLAG
        state.original = message
        state.awaiting_followup = False
        self._messages[message["id"]] = message
        state.replies.append(
            {
                "kind": "edit_original",
                "ephemeral": state.ephemeral,
                "payload": body,
                "message": message,
                "files": list(uploads),
                "at": time.monotonic(),
            }
        )
        self._changed.notify_all()
        return self._json(message)

    async def _cdn_file(self, request: web.Request) -> web.StreamResponse:
        attachment_id = request.match_info["attachment_id"]
        entry = self._cdn.get(attachment_id)
        status = 200 if entry else 404
        self._record(Record("GET", request.path, {}, None, status, time.monotonic(), None, "cdn"))
        if entry is None:
            return web.Response(status=404)
        data, content_type = entry
        return web.Response(body=data, headers={"Content-Type": content_type})

    # Gateway -----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        await socket.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        )
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op = message.get("op")
                if op == 1:
                    await socket.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    await self._identify(socket, message["d"])
                elif op == 6:
                    await socket.send_str(json.dumps({"op": 9, "d": False}))
        finally:
            self._sockets.pop(socket, None)
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: JSON) -> None:
        if data.get("token") != self.token:
            self._violation("IDENTIFY with a wrong token")
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        self.identified_intents.append(intents)
        if intents & MESSAGE_CONTENT_INTENT and not self.allow_message_content:
            await socket.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = await self._check_shard(socket, data.get("shard") or [0, 1])
        if shard is None:
            return
        shard_id, shards = shard
        self._sockets[socket] = shard
        self.identified_shards.append(shard)
        guilds = [g for g in self.guilds if payloads.shard_of(g["id"], shards) == shard_id]
        self._sequence += 1
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": guild["id"], "unavailable": True} for guild in guilds],
            "shard": [shard_id, shards],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
        }
        await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": self._sequence, "d": ready}))
        for guild in guilds:
            self._sequence += 1
            await socket.send_str(
                json.dumps({"op": 0, "t": "GUILD_CREATE", "s": self._sequence, "d": guild})
            )

    async def _check_shard(
        self, socket: web.WebSocketResponse, field: Any
    ) -> tuple[int, int] | None:
        """IDENTIFY's ``[shard_id, num_shards]`` if Discord would take it; otherwise a
        violation, the socket closed with 4010, and None."""
        problem = None
        valid = (
            isinstance(field, list)
            and len(field) == 2
            and all(isinstance(value, int) for value in field)
        )
        if not valid:
            problem = f"IDENTIFY with a malformed shard field {field!r}"
        elif not (field[1] >= 1 and 0 <= field[0] < field[1]):
            problem = f"IDENTIFY with shard {field[0]} of {field[1]}"
        else:
            for shard_id, shards in self._sockets.values():
                if shards != field[1]:
                    problem = f"IDENTIFY with {field[1]} shards while a session runs {shards}"
                elif shard_id == field[0]:
                    problem = f"IDENTIFY for shard {shard_id} of {shards}, already connected"
        if problem is None:
            return field[0], field[1]
        self._violation(problem)
        await socket.close(code=INVALID_SHARD, message=b"Invalid shard.")
        return None
