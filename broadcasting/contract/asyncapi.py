"""
The AsyncAPI 3 document of the sockets, built from the live registry: per channel its
address (/ws/<channel>, /ws/<channel>/<pk>), its query parameters (the REST list's
filters, as the OpenAPI document gives them), and every frame, whose model events carry
the channel's OpenAPI response component; /ws/ with subscribe and unsubscribe. Built
once per process, never on the event path.
"""

import json
from functools import cache

from django.contrib.auth import get_user_model

from broadcasting.contract import frames
from broadcasting.contract.openapi import component_name, openapi_document
from broadcasting.live.registry import LiveModel, live_models
from broadcasting.wire.protocol import PROTOCOL_VERSION, CloseCode, ErrorCode

ASYNCAPI_VERSION = "3.0.0"
# Query parameters of a list that are REST's alone (paging, ordering, search), not filters.
NOT_FILTERS = frozenset({"page", "page_size", "ordering", "search", "format"})
RESUME_PARAMETERS = {
    "since": {**frames.SEQ, "description": "Replay every event after this seq, then go on live."},
    "epoch": {**frames.EPOCH, "description": "The epoch `since` belongs to; another one gets `reset`."},
    "client_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "description": "This socket's name."},
}


def data_schema(live_model: LiveModel, schemas: dict) -> dict:
    """The channel's REST response component, or (no REST view) any object with an id."""
    name = component_name(live_model.channel)
    if name in schemas:
        return {"$ref": f"#/components/schemas/{name}"}
    return {
        **frames.WITH_ID,
        "description": f"As {live_model.serializer_class.__name__} renders it; this channel has no REST view.",
    }


def filter_parameters(live_model: LiveModel, openapi: dict) -> dict[str, dict]:
    """The REST list's filters (drf-spectacular's reading of the FilterSet), as query parameters."""
    operation = openapi.get("paths", {}).get(f"/api/{live_model.channel}/", {}).get("get", {})
    found: dict[str, dict] = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter["name"] not in NOT_FILTERS:
            found[parameter["name"]] = dict(parameter.get("schema", {}))
    if not found and live_model.filterset is not None:
        found = {name: {"type": "string"} for name in live_model.filterset.base_filters}
    return found


def user_reference(schemas: dict) -> dict:
    """How presence shows a user: the users channel's component when the user model is live."""
    user_model = live_models.for_model(get_user_model())
    if user_model is not None and component_name(user_model.channel) in schemas:
        return {"$ref": f"#/components/schemas/{component_name(user_model.channel)}"}
    return frames.WITH_ID


def ws_binding(query: dict) -> dict:
    """The WebSocket binding of a channel: its handshake's query parameters."""
    return {"ws": {"method": "GET", "query": {"type": "object", "properties": query, "additionalProperties": False}}}


class DocumentParts:
    """The messages, channels and operations of the document, as they are added."""

    def __init__(self) -> None:
        self.messages: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.operations: dict[str, dict] = {}

    def add_messages(self, prefix: str, schemas: dict[str, dict]) -> dict[str, dict]:
        """Each schema as the message ``<prefix>_<kind>``; returns their references by name."""
        references = {}
        for kind, payload in schemas.items():
            name = f"{prefix}_{kind}"
            self.messages[name] = {"name": name, "payload": payload}
            references[name] = {"$ref": f"#/components/messages/{name}"}
        return references

    def add_channel(self, key: str, body: dict, receives: dict[str, dict], sends: dict[str, dict]) -> None:
        """A channel, and its two operations: what a client receives on it and what it may send."""
        self.channels[key] = {**body, "messages": {**receives, **sends}}
        for action, messages in (("receive", receives), ("send", sends)):
            self.operations[f"{action}_{key}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{name}"} for name in messages],
            }


@cache
def asyncapi_document() -> dict:
    """The whole document (cached per process: the registry is fixed once apps are loaded)."""
    openapi = openapi_document()
    schemas = dict(openapi.get("components", {}).get("schemas", {}))  # one definition for both documents
    user_ref = user_reference(schemas)
    parts = DocumentParts()
    replies = parts.add_messages("socket", frames.reply_schemas(False))
    client = parts.add_messages("client", frames.client_frame_schemas(False))
    multiplexed_events: dict[str, dict] = {}

    for live_model in live_models:
        channel = live_model.channel
        events = parts.add_messages(
            channel, frames.channel_event_schemas(channel, data_schema(live_model, schemas), user_ref)
        )
        multiplexed_events.update(events)
        receives = {
            **parts.add_messages(channel, {"connection": frames.connection_schema(channel)}),
            **events,
            **replies,
        }
        description = f"Every committed change of {live_model.model_label}, as each reader may see it over REST."
        if live_model.requires_auth:
            description += " Signed-in sockets only (close 4401)."
        query = {**filter_parameters(live_model, openapi), **RESUME_PARAMETERS}
        body = {"address": f"/ws/{channel}", "description": description, "bindings": ws_binding(query)}
        parts.add_channel(channel, body, receives, client)
        one_object = {
            "address": f"/ws/{channel}/{{pk}}",
            "description": f"One {live_model.model._meta.verbose_name}'s events.",
            "parameters": {"pk": {"description": "The object's id."}},
            "bindings": ws_binding(RESUME_PARAMETERS),
        }
        parts.add_channel(f"{channel}_object", one_object, receives, client)

    multiplex_receives = parts.add_messages(
        "multiplex",
        {
            "connection": frames.connection_schema(None),
            **frames.reply_schemas(True),
            **frames.multiplex_frame_schemas(),
            **frames.channel_frame_schemas(None, user_ref),
        },
    )
    filter_schema = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
    multiplex_sends = parts.add_messages("multiplex_client", frames.client_frame_schemas(True, filter_schema))
    multiplex = {
        "address": "/ws/",
        "description": "Any number of channels on one socket: subscribe and unsubscribe; each frame names its channel.",
        "bindings": ws_binding({"client_id": RESUME_PARAMETERS["client_id"]}),
    }
    parts.add_channel("multiplex", multiplex, {**multiplex_receives, **multiplexed_events}, multiplex_sends)
    document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "realtime_site sockets",
            "version": PROTOCOL_VERSION,
            "description": (
                "Every committed change of the live models, per channel, gap-free and resumable "
                "(docs/protocol.md). Close codes: "
                + ", ".join(f"{code.value} {code.name.lower()}" for code in CloseCode)
                + ". Error codes: "
                + ", ".join(code.value for code in ErrorCode)
                + ". The events' data are the REST API's response components (/api/schema/)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "site": {
                "host": "{host}",
                "protocol": "ws",
                "description": "This site's host; wss behind TLS.",
                "variables": {"host": {"default": "127.0.0.1:8000"}},
            }
        },
        "channels": parts.channels,
        "operations": parts.operations,
        "components": {
            "schemas": schemas,
            "messages": parts.messages,
            "x-close-codes": {str(code.value): code.name.lower() for code in CloseCode},
            "x-error-codes": [code.value for code in ErrorCode],
        },
    }
    return json.loads(json.dumps(document))  # plain JSON types (the protocol's names are StrEnums)
