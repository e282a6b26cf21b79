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
        "type": "object",
        "properties": {"id": frames.OBJECT_ID},
        "required": ["id"],
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
    return {"type": "object", "properties": {"id": frames.OBJECT_ID}, "required": ["id"]}


def message(name: str, payload: dict, summary: str = "") -> dict:
    body = {"name": name, "payload": payload}
    if summary:
        body["summary"] = summary
    return body


@cache
def asyncapi_document() -> dict:
    """The whole document (cached per process: the registry is fixed once apps are loaded)."""
    openapi = openapi_document()
    rest_schemas = openapi.get("components", {}).get("schemas", {})
    schemas = dict(rest_schemas)  # the REST components, one definition for both documents
    user_ref = user_reference(schemas)
    messages: dict[str, dict] = {}
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}

    def add(message_name: str, payload: dict) -> dict:
        messages[message_name] = message(message_name, payload)
        return {"$ref": f"#/components/messages/{message_name}"}

    replies = {f"socket_{kind}": add(f"socket_{kind}", schema) for kind, schema in frames.reply_schemas(False).items()}
    client = {
        f"client_{kind}": add(f"client_{kind}", schema) for kind, schema in frames.client_frame_schemas(False).items()
    }
    multiplexed_events: dict[str, dict] = {}
    filters_by_channel: dict[str, dict] = {}

    for live_model in live_models:
        channel = live_model.channel
        data = data_schema(live_model, schemas)
        events = {
            f"{channel}_{kind}": add(f"{channel}_{kind}", schema)
            for kind, schema in {
                **frames.model_event_schemas(channel, data),
                **frames.channel_frame_schemas(channel, user_ref),
            }.items()
        }
        own = {f"{channel}_connection": add(f"{channel}_connection", frames.connection_schema(channel))}
        multiplexed_events.update(events)
        query = filter_parameters(live_model, openapi)
        filters_by_channel[channel] = query
        binding = {
            "ws": {
                "method": "GET",
                "query": {
                    "type": "object",
                    "properties": {**query, **RESUME_PARAMETERS},
                    "additionalProperties": False,
                },
            }
        }
        socket_messages_here = {**own, **events, **replies}
        description = f"Every committed change of {live_model.model_label}, as each reader may see it over REST."
        if live_model.requires_auth:
            description += " Signed-in sockets only (close 4401)."
        channels[channel] = {
            "address": f"/ws/{channel}",
            "description": description,
            "messages": {**socket_messages_here, **client},
            "bindings": binding,
        }
        channels[f"{channel}_object"] = {
            "address": f"/ws/{channel}/{{pk}}",
            "description": f"One {live_model.model._meta.verbose_name}'s events.",
            "parameters": {"pk": {"description": "The object's id."}},
            "messages": {**socket_messages_here, **client},
            "bindings": {"ws": {"method": "GET", "query": {"type": "object", "properties": RESUME_PARAMETERS,
                                                           "additionalProperties": False}}},
        }  # fmt: skip
        for address in (channel, f"{channel}_object"):
            operations[f"receive_{address}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{address}"},
                "messages": [{"$ref": f"#/channels/{address}/messages/{key}"} for key in socket_messages_here],
            }
            operations[f"send_{address}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{address}"},
                "messages": [{"$ref": f"#/channels/{address}/messages/{key}"} for key in client],
            }

    filter_schema = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
    multiplex_socket = {f"multiplex_{kind}": add(f"multiplex_{kind}", schema) for kind, schema in {
        "connection": frames.connection_schema(None), **frames.reply_schemas(True), **frames.multiplex_frame_schemas(),
        **frames.channel_frame_schemas(None, user_ref),
    }.items()}  # fmt: skip
    multiplex_client = {
        f"multiplex_client_{kind}": add(f"multiplex_client_{kind}", schema)
        for kind, schema in frames.client_frame_schemas(True, filter_schema).items()
    }
    server_side = {**multiplex_socket, **multiplexed_events}
    channels["multiplex"] = {
        "address": "/ws/",
        "description": "Any number of channels on one socket: subscribe and unsubscribe; each frame names its channel.",
        "messages": {**server_side, **multiplex_client},
        "bindings": {"ws": {"method": "GET", "query": {"type": "object", "properties": {
            "client_id": RESUME_PARAMETERS["client_id"]}, "additionalProperties": False}}},
    }  # fmt: skip
    operations["receive_multiplex"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/multiplex"},
        "messages": [{"$ref": f"#/channels/multiplex/messages/{key}"} for key in server_side],
    }
    operations["send_multiplex"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/multiplex"},
        "messages": [{"$ref": f"#/channels/multiplex/messages/{key}"} for key in multiplex_client],
    }
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
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "x-close-codes": {str(code.value): code.name.lower() for code in CloseCode},
            "x-error-codes": [code.value for code in ErrorCode],
        },
    }
    return json.loads(json.dumps(document))  # plain JSON types (the protocol's names are StrEnums)
