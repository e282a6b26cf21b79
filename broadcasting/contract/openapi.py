"""
The OpenAPI document (drf-spectacular), once per process, and the hook that makes its
live models' components say what every reader gets: a field only staff and the owner
see is optional and says so; a field no serializer sends is refused.
"""

import json
from functools import cache

from drf_spectacular.generators import SchemaGenerator

from broadcasting.live.registry import live_models

PRIVATE_FIELD_NOTE = "Shown to staff and the object's owner only; absent for every other reader."


def component_name(channel: str) -> str:
    """The response component of a channel's serializer, as drf-spectacular names it."""
    live_model = live_models.for_channel(channel)
    assert live_model is not None
    return live_model.serializer_class.__name__.removesuffix("Serializer")


def mark_audience_fields(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS entry: the live models' response components, as every audience sees them."""
    schemas = result.get("components", {}).get("schemas", {})
    for live_model in live_models:
        schema = schemas.get(component_name(live_model.channel))
        if schema is None or "properties" not in schema:
            continue
        private: frozenset[str] = getattr(live_model.serializer_class, "private_fields", frozenset())
        schema["additionalProperties"] = False
        # A response holds every readable field (the component has no other), but the private ones.
        schema["required"] = [name for name in schema["properties"] if name not in private]
        for name in private:
            if name in schema["properties"]:
                field = schema["properties"][name]
                described = field.get("description")
                field["description"] = f"{described} {PRIVATE_FIELD_NOTE}" if described else PRIVATE_FIELD_NOTE
    return result


# The error answers any operation of the REST API may give (DRF's and the project's own),
# each a JSON object: {"detail": "..."}, or a validation error's {"field": ["message"]}.
ERROR_RESPONSES = {
    "400": "The request is malformed or fails validation: field names map to their messages.",
    "401": "No credentials, or credentials that are not valid (a token revoked, a session ended).",
    "403": "Signed in, but not allowed this (or a CSRF check failed).",
    "404": "No such object, or one this reader may not see.",
    "405": "This method is not allowed here.",
    "406": "No representation matches the Accept header.",
    "415": "The body's Content-Type is not JSON, a form or multipart.",
    "429": "Throttled, or locked out after failed sign-ins; Retry-After says when to try again.",
    "503": "The database is busy or unavailable for a moment; Retry-After says when to retry.",
}
ERROR_SCHEMA = {"type": "object", "description": 'An error: {"detail": "…"}, or field names to messages.'}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS entry: every /api/ operation lists the error answers it may give."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result


@cache
def openapi_document() -> dict:
    """The REST API's OpenAPI document, as /api/schema/ serves it (built once per process)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, default=str))  # plain JSON: lazy strings resolved
