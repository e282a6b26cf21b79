"""
GET /api/schema/ and /api/schema/asyncapi/: the OpenAPI and AsyncAPI documents, YAML or
JSON (``?format=``), rendered once per process: a schema request costs a lookup.
"""

import json
from functools import cache

import yaml
from django.http import HttpRequest, HttpResponse

from broadcasting.contract.asyncapi import asyncapi_document
from broadcasting.contract.openapi import openapi_document

DOCUMENTS = {"openapi": openapi_document, "asyncapi": asyncapi_document}
CONTENT_TYPES = {
    ("openapi", "yaml"): "application/vnd.oai.openapi",
    ("openapi", "json"): "application/vnd.oai.openapi+json",
    ("asyncapi", "yaml"): "application/yaml",
    ("asyncapi", "json"): "application/json",
}


@cache
def _rendered(document: str, form: str) -> bytes:
    built = DOCUMENTS[document]()
    if form == "yaml":
        return yaml.safe_dump(built, sort_keys=False, allow_unicode=True).encode()
    return json.dumps(built, ensure_ascii=False).encode()


def _serve(request: HttpRequest, document: str, default: str) -> HttpResponse:
    form = request.GET.get("format", default)
    if form not in ("json", "yaml"):
        return HttpResponse("format is json or yaml\n", status=400, content_type="text/plain")
    content_type = CONTENT_TYPES[(document, form)]
    return HttpResponse(_rendered(document, form), content_type=f"{content_type}; charset=utf-8")


def openapi_view(request: HttpRequest) -> HttpResponse:
    """YAML by default, as drf-spectacular's own view serves it."""
    return _serve(request, "openapi", "yaml")


def asyncapi_view(request: HttpRequest) -> HttpResponse:
    return _serve(request, "asyncapi", "json")
