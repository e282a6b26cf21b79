"""GET /api/schema/asyncapi/: the sockets' AsyncAPI document, JSON (or ``?format=yaml``), built once per process."""

import json
from functools import cache

import yaml
from django.http import HttpRequest, HttpResponse

from broadcasting.contract.asyncapi import asyncapi_document


@cache
def _rendered(as_yaml: bool) -> bytes:
    document = asyncapi_document()
    if as_yaml:
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()
    return json.dumps(document, ensure_ascii=False).encode()


def asyncapi_view(request: HttpRequest) -> HttpResponse:
    as_yaml = request.GET.get("format") == "yaml"
    content_type = "application/yaml" if as_yaml else "application/json"
    return HttpResponse(_rendered(as_yaml), content_type=f"{content_type}; charset=utf-8")
