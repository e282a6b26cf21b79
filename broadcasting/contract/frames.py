"""
The JSON Schema of every frame of docs/protocol.md, for one channel or for /ws/. Names
come from wire/protocol.py; a channel's model events carry its REST component
(``data_ref``). Every frame object refuses keys it does not name.
"""

from broadcasting.wire.protocol import ClientFrame, ErrorCode, MultiplexClientFrame, MultiplexServerFrame, ServerFrame

SEQ = {"type": "integer", "minimum": 0, "description": "The channel's event counter (docs/glossary.md#seq)."}
EPOCH = {"type": "string", "minLength": 1, "description": "The channel history's name (docs/glossary.md#epoch)."}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
CHANNEL_NAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}
OBJECT_ID = {"type": ["integer", "string"]}
# An object with an id and maybe more; ID_ONLY: nothing but its id (a deleted object, a cut frame).
WITH_ID = {"type": "object", "properties": {"id": OBJECT_ID}, "required": ["id"]}
ID_ONLY = {**WITH_ID, "additionalProperties": False}
# Custom events (broadcast_custom) may take any name but these.
RESERVED_TYPES = sorted({*ServerFrame, *MultiplexServerFrame})


def frame(type_: str, properties: dict, optional: tuple[str, ...] = (), description: str = "") -> dict:
    """An object frame: ``type`` is ``type_``; every other key named, required unless ``optional``."""
    schema = {
        "type": "object",
        "properties": {"type": {"const": type_}, **properties},
        "required": ["type", *(name for name in properties if name not in optional)],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def channel_const(channel: str | None) -> dict:
    return {"const": channel} if channel else CHANNEL_NAME


def model_event_schemas(channel: str, data_ref: dict) -> dict[str, dict]:
    """created, updated and deleted on ``channel``: the object as this reader may see it, or only its id."""
    head = {"model": {"const": channel}, "channel": {"const": channel}, "timestamp": TIMESTAMP, "seq": SEQ}
    truncated = frame(
        "", {**head, "data": ID_ONLY, "truncated": {"const": True}},
        description="Too large for one frame: only the id; GET the object over REST.",
    )  # fmt: skip
    schemas = {}
    for kind in (ServerFrame.CREATED, ServerFrame.UPDATED):
        whole = frame(kind, {**head, "data": data_ref})
        cut = {**truncated, "properties": {**truncated["properties"], "type": {"const": kind}}}
        schemas[kind.value] = {"oneOf": [whole, cut]}
    schemas[ServerFrame.DELETED.value] = frame(ServerFrame.DELETED, {**head, "data": ID_ONLY})
    return schemas


def channel_event_schemas(channel: str, data_ref: dict, user_ref: dict) -> dict[str, dict]:
    """Every frame of ``channel`` that a /ws/ socket gets too: its model events and the channel frames."""
    return {**model_event_schemas(channel, data_ref), **channel_frame_schemas(channel, user_ref)}


def channel_frame_schemas(channel: str | None, user_ref: dict) -> dict[str, dict]:
    """The frames every channel socket gets besides model events (``channel`` None: any channel, on /ws/)."""
    on = channel_const(channel)
    presence_user = {"anyOf": [user_ref, ID_ONLY]}
    return {
        "custom": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "minLength": 1, "not": {"enum": RESERVED_TYPES}},
                "channel": on,
                "timestamp": TIMESTAMP,
                "seq": SEQ,
                "data": {},
            },
            "required": ["type", "channel", "timestamp", "seq", "data"],
            "additionalProperties": False,
            "description": "A custom event (broadcast_custom, broadcast_to_all_channels): the sender's keys in data.",
        },
        ServerFrame.SYNC.value: frame(ServerFrame.SYNC, {"channel": on, "seq": SEQ}),
        ServerFrame.RESET.value: frame(
            ServerFrame.RESET, {"channel": on, "seq": SEQ, "epoch": EPOCH, "reason": {"type": "string", "minLength": 1}}
        ),
        ServerFrame.PRESENCE.value: frame(
            ServerFrame.PRESENCE,
            {
                "channel": on,
                "data": {
                    "type": "object",
                    "properties": {
                        "users": {"type": "array", "items": presence_user},
                        "user_count": {"type": "integer", "minimum": 0},
                        "anonymous": {"type": "integer", "minimum": 0},
                    },
                    "required": ["users", "user_count", "anonymous"],
                    "additionalProperties": False,
                },
            },
        ),
        ServerFrame.JOIN.value: frame(ServerFrame.JOIN, {"channel": on, "data": _user_data(presence_user)}),
        ServerFrame.LEAVE.value: frame(
            ServerFrame.LEAVE, {"channel": on, "data": _user_data(presence_user["anyOf"][1])}
        ),
    }


def _user_data(user: dict) -> dict:
    return {"type": "object", "properties": {"user": user}, "required": ["user"], "additionalProperties": False}


def connection_schema(channel: str | None) -> dict:
    """The first frame of a socket: on /ws/<channel> with its position, on /ws/ (``None``) without."""
    if channel:
        return frame(
            ServerFrame.CONNECTION,
            {"message": {"const": f"Connected to channel: {channel}"}, "channel": {"const": channel},
             "client_id": {"type": "string", "minLength": 1}, "timestamp": TIMESTAMP, "seq": SEQ, "epoch": EPOCH},
        )  # fmt: skip
    return frame(
        ServerFrame.CONNECTION,
        {"message": {"const": "Connected"}, "client_id": {"type": "string", "minLength": 1}, "timestamp": TIMESTAMP},
    )


def reply_schemas(multiplexed: bool) -> dict[str, dict]:
    """The socket's own answers: pong, stats and error (on /ws/, an error may name a channel)."""
    counts = {"type": "integer", "minimum": 0}
    # On /ws/, an error about a subscription names the channel the frame named (cut to 64), or null.
    error_channel = {"channel": {"type": ["string", "null"], "maxLength": 64}} if multiplexed else {}
    return {
        ServerFrame.PONG.value: frame(ServerFrame.PONG, {"message": {"const": "pong"}}),
        ServerFrame.STATS.value: frame(
            ServerFrame.STATS,
            {
                "data": {
                    "type": "object",
                    "properties": {
                        "total_channels": counts,
                        "channels": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
                        "total_connections": counts,
                    },
                    "required": ["total_channels", "channels", "total_connections"],
                    "additionalProperties": False,
                }
            },
        ),
        ServerFrame.ERROR.value: frame(
            ServerFrame.ERROR,
            {
                "code": {"enum": [code.value for code in ErrorCode]},
                "message": {"type": "string", "minLength": 1},
                **error_channel,
            },
            optional=("channel",),
        ),
    }


def multiplex_frame_schemas() -> dict[str, dict]:
    """What the server answers on /ws/ besides the channel frames."""
    return {
        MultiplexServerFrame.SUBSCRIBED.value: frame(
            MultiplexServerFrame.SUBSCRIBED, {"channel": CHANNEL_NAME, "seq": SEQ, "epoch": EPOCH}
        ),
        MultiplexServerFrame.UNSUBSCRIBED.value: frame(MultiplexServerFrame.UNSUBSCRIBED, {"channel": CHANNEL_NAME}),
    }


def client_frame_schemas(multiplexed: bool, filter_schema: dict | None = None) -> dict[str, dict]:
    """What a client may send: on /ws/<channel>, or on /ws/ (subscribe, unsubscribe, get_presence with a channel)."""
    schemas = {
        ClientFrame.PING.value: frame(ClientFrame.PING, {}),
        ClientFrame.GET_STATS.value: frame(ClientFrame.GET_STATS, {}),
        ClientFrame.GET_PRESENCE.value: frame(ClientFrame.GET_PRESENCE, {}),
    }
    if multiplexed:
        schemas[ClientFrame.GET_PRESENCE.value] = frame(ClientFrame.GET_PRESENCE, {"channel": CHANNEL_NAME})
        schemas[MultiplexClientFrame.SUBSCRIBE.value] = frame(
            MultiplexClientFrame.SUBSCRIBE,
            {"channel": CHANNEL_NAME, "filter": filter_schema or {"type": "object"}, "since": SEQ, "epoch": EPOCH},
            optional=("filter", "since", "epoch"),
        )
        schemas[MultiplexClientFrame.UNSUBSCRIBE.value] = frame(
            MultiplexClientFrame.UNSUBSCRIBE, {"channel": CHANNEL_NAME}
        )
    return schemas
