"""
The AsyncAPI document (contract/asyncapi.py): valid by AsyncAPI's own parser, built from
the registry and the OpenAPI document's components, cached, and served as JSON and YAML.
"""

import json

import pytest
import yaml

from broadcasting.contract import asyncapi
from broadcasting.contract.openapi import openapi_document
from broadcasting.wire.protocol import PROTOCOL_VERSION, CloseCode, ErrorCode
from testing.typescript import node, require_typescript_tools


def test_the_document_is_valid_asyncapi_3_by_asyncapis_own_parser(tmp_path):
    require_typescript_tools()
    document = tmp_path / "asyncapi.json"
    document.write_text(json.dumps(asyncapi.asyncapi_document()))
    checked = node("validate_asyncapi.mjs", str(document))
    assert checked.returncode == 0 and checked.stdout.strip().endswith("valid"), checked.stdout + checked.stderr


def test_the_validator_refuses_a_broken_document(tmp_path):
    """The check can fail: an operation pointing at no channel is refused."""
    require_typescript_tools()
    broken = json.loads(json.dumps(asyncapi.asyncapi_document()))
    broken["operations"]["receive_posts"]["channel"] = {"$ref": "#/channels/nowhere"}
    document = tmp_path / "asyncapi.json"
    document.write_text(json.dumps(broken))
    assert node("validate_asyncapi.mjs", str(document)).returncode == 1


def test_each_channel_has_its_addresses_filters_and_the_rest_component_as_event_data():
    document = asyncapi.asyncapi_document()
    posts = document["channels"]["posts"]
    assert posts["address"] == "/ws/posts"
    assert document["channels"]["posts_object"]["address"] == "/ws/posts/{pk}"
    assert document["channels"]["multiplex"]["address"] == "/ws/"
    query = posts["bindings"]["ws"]["query"]["properties"]
    assert {"author", "published", "since", "epoch", "client_id"} <= set(query)
    assert query["published"] == {"type": "boolean"} and query["author"] == {"type": "integer"}
    created = document["components"]["messages"]["posts_created"]["payload"]["oneOf"][0]
    assert created["properties"]["data"] == {"$ref": "#/components/schemas/Post"}
    # One definition of a Post: the OpenAPI document's own component, as REST responses use it.
    assert document["components"]["schemas"]["Post"] == openapi_document()["components"]["schemas"]["Post"]
    assert document["info"]["version"] == PROTOCOL_VERSION


def test_fields_only_some_readers_see_are_optional_and_described_in_both_documents():
    user = openapi_document()["components"]["schemas"]["User"]
    assert "email" not in user["required"] and "is_staff" not in user["required"]
    assert "owner only" in user["properties"]["email"]["description"]
    assert {"id", "name", "is_active", "created_at"} <= set(user["required"])
    assert user["additionalProperties"] is False
    assert asyncapi.asyncapi_document()["components"]["schemas"]["User"] == user


def test_close_codes_and_error_codes_are_enumerated():
    document = asyncapi.asyncapi_document()
    assert document["components"]["x-close-codes"] == {str(code.value): code.name.lower() for code in CloseCode}
    error = document["components"]["messages"]["socket_error"]["payload"]
    assert error["properties"]["code"]["enum"] == [code.value for code in ErrorCode]


def test_the_document_is_built_once_per_process(monkeypatch):
    asyncapi.asyncapi_document()

    def built_again():
        raise AssertionError("the OpenAPI document was built again")

    monkeypatch.setattr(asyncapi, "openapi_document", built_again)
    assert asyncapi.asyncapi_document()["asyncapi"] == "3.0.0"


@pytest.mark.django_db
def test_it_is_served_as_json_and_yaml_next_to_the_openapi_schema(client):
    as_json = client.get("/api/schema/asyncapi/")
    assert as_json.status_code == 200 and as_json["Content-Type"].startswith("application/json")
    assert as_json.json() == json.loads(json.dumps(asyncapi.asyncapi_document()))
    as_yaml = client.get("/api/schema/asyncapi/", {"format": "yaml"})
    assert as_yaml["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(as_yaml.content) == as_json.json()
    assert "/api/schema/asyncapi/" in client.get("/api/schema/", {"format": "json"}).json()["info"]["description"]


@pytest.mark.django_db
def test_the_openapi_document_is_served_from_the_process_cache_in_both_forms(client, monkeypatch):
    from broadcasting.contract import openapi

    as_yaml = client.get("/api/schema/")
    assert as_yaml.status_code == 200 and as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    as_json = client.get("/api/schema/", {"format": "json"})
    assert yaml.safe_load(as_yaml.content) == as_json.json() == openapi_document()
    assert client.get("/api/schema/", {"format": "xml"}).status_code == 400

    class NoGenerator:
        def __init__(self, *args, **kwargs):
            raise AssertionError("the OpenAPI document was generated again")

    monkeypatch.setattr(openapi, "SchemaGenerator", NoGenerator)
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200
