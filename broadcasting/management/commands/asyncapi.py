"""
`manage.py asyncapi`: the sockets' AsyncAPI document (broadcasting/contract/asyncapi.py),
as /api/schema/asyncapi/ serves it; ``make types`` turns it into TypeScript.
"""

import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand

from broadcasting.contract.asyncapi import asyncapi_document


class Command(BaseCommand):
    help = "Print (or write) the sockets' AsyncAPI 3 document, JSON or YAML."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--yaml", action="store_true", help="YAML instead of JSON")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, **options) -> None:
        document = asyncapi_document()
        if options["yaml"]:
            text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        else:
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            Path(options["output"]).parent.mkdir(parents=True, exist_ok=True)
            Path(options["output"]).write_text(text)
        else:
            self.stdout.write(text, ending="")
