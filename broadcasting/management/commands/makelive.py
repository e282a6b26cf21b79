"""
``manage.py makelive <app_label>.<Model> [--owner FIELD] [--public FIELD=VALUE]...``:
write what makes an existing model live, next to its own code. In its app: ``live.py``
(the one registration), ``serializers.py``, ``filters.py``, ``views.py``, ``admin.py``
and ``test_live.py``. A file that exists is left alone and named, with what to add by
hand, unless it is still the stub ``startapp`` wrote.
"""

from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from broadcasting.live.derived import (
    filterable_field_names,
    read_only_field_names,
    shown_field_names,
    title_field_name,
)
from broadcasting.publish.querysets import LiveQuerySet

# What `startapp` writes in these files: a stub may be replaced, anything else is kept.
STARTAPP_STUBS = {
    "admin.py": "from django.contrib import admin\n\n# Register your models here.\n",
    "views.py": "from django.shortcuts import render\n\n# Create your views here.\n",
    "tests.py": "from django.test import TestCase\n\n# Create your tests here.\n",
}


class Command(BaseCommand):
    help = "Make an existing model live: its registration, serializer, FilterSet, viewset, admin and a test."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="app_label.Model, for a model of an installed app")
        parser.add_argument("--owner", help="the field naming the object's owner (a foreign key to the user model)")
        parser.add_argument(
            "--public",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="objects with this value are readable by everyone (staff and the owner read the rest)",
        )
        parser.add_argument("--channel", help="the channel's name (default: the model's plural, lowercase)")
        parser.add_argument("--requires-auth", action="store_true", help="refuse anonymous sockets")

    def handle(self, *args: Any, **options: Any) -> None:
        model = self._model(options["model"])
        app_config = apps.get_app_config(model._meta.app_label)
        channel = options["channel"] or f"{model._meta.model_name}s"
        public_when = dict(self._public_pair(model, pair) for pair in options["public"])
        owner = options["owner"]
        if owner is not None:
            self._field(model, owner)
        files = _files_for(model, channel, owner, public_when, options["requires_auth"])
        app_dir = Path(app_config.path)
        kept = []
        for name, text in files.items():
            path = app_dir / name
            if path.exists() and path.read_text() != STARTAPP_STUBS.get(name):
                kept.append((name, text))
                continue
            path.write_text(text)
            self.stdout.write(f"wrote {path}")
        self._restyle_startapp_apps_py(app_dir, app_config.name, app_config.label)
        stub_tests = app_dir / "tests.py"
        if stub_tests.exists() and stub_tests.read_text() == STARTAPP_STUBS["tests.py"]:
            stub_tests.unlink()  # its unused import fails lint; test_live.py holds the tests
            self.stdout.write(f"removed startapp's stub {stub_tests}")
        for name, text in kept:
            self.stdout.write(self.style.WARNING(f"kept your {app_dir / name}; add what it needs of this:\n{text}"))
        if not isinstance(model._default_manager.get_queryset(), LiveQuerySet):
            self.stdout.write(
                self.style.WARNING(
                    f"{model.__name__}'s manager is not live, so bulk writes would not broadcast: add\n"
                    "    from broadcasting import LiveQuerySet\n"
                    "    objects = LiveQuerySet.as_manager()\n"
                    f"to {model.__name__} (system check broadcasting.E001)."
                )
            )
        self.stdout.write(
            f"next: python manage.py makemigrations {app_config.label} && python manage.py migrate\n"
            f"then /api/{channel}/ and /ws/{channel} are live."
        )

    def _restyle_startapp_apps_py(self, app_dir: Path, name: str, label: str) -> None:
        """startapp's apps.py, single-quoted, fails the project's formatter: write it in the project's style."""
        camel = "".join(part for part in label.title() if part != "_")
        stub = (
            "from django.apps import AppConfig\n\n\n"
            f"class {camel}Config(AppConfig):\n"
            "    default_auto_field = 'django.db.models.BigAutoField'\n"
            f"    name = '{name}'\n"
        )
        apps_py = app_dir / "apps.py"
        if apps_py.exists() and apps_py.read_text() == stub:
            apps_py.write_text(stub.replace("'", '"'))
            self.stdout.write(f"wrote {apps_py} (startapp's, in the project's style)")

    def _model(self, label: str) -> type[models.Model]:
        try:
            return apps.get_model(label)
        except (LookupError, ValueError) as error:
            raise CommandError(f"{label}: {error} (give app_label.Model of an installed app)") from error

    def _field(self, model: type[models.Model], name: str) -> models.Field:
        try:
            field = model._meta.get_field(name)
        except Exception as error:
            raise CommandError(f"{model.__name__} has no field {name!r}.") from error
        assert isinstance(field, models.Field)
        return field

    def _public_pair(self, model: type[models.Model], pair: str) -> tuple[str, Any]:
        name, separator, raw = pair.partition("=")
        if not separator:
            raise CommandError(f"--public takes FIELD=VALUE, not {pair!r}.")
        field = self._field(model, name)
        if isinstance(field, models.BooleanField):
            return name, raw.strip().lower() in ("1", "true", "yes")
        return name, field.to_python(raw)


def _files_for(
    model: type[models.Model], channel: str, owner: str | None, public_when: dict[str, Any], requires_auth: bool
) -> dict[str, str]:
    name = model.__name__
    shown = shown_field_names(model)
    read_only = read_only_field_names(model, owner)
    filtered = filterable_field_names(model)
    registration = [f"    {name},", f'    channel="{channel}",', f"    serializer={name}Serializer,"]
    if owner:
        registration.append(f'    owner_field="{owner}",  # the owner reads and changes it; staff read all')
    if public_when:
        public = ", ".join(f"{_py(key)}: {value!r}" for key, value in public_when.items())
        registration.append(f"    public_when={{{public}}},  # everyone reads these; only staff set them over REST")
    if requires_auth:
        registration.append("    requires_auth=True,")
    registration += [f"    filterset={name}Filter,", f"    viewset={name}ViewSet,  # REST at /api/{channel}/"]
    title = title_field_name(model)
    return {
        "live.py": (
            f'"""The {channel} channel: {name} over /ws/{channel} and /api/{channel}/ (docs/live-models.md)."""\n\n'
            "from broadcasting import live_models\n\n"
            f"from .filters import {name}Filter\nfrom .models import {name}\n"
            f"from .serializers import {name}Serializer\nfrom .views import {name}ViewSet\n\n"
            "live_models.register(\n" + "\n".join(registration) + "\n)\n"
        ),
        "serializers.py": (
            f'"""How a {name} looks over REST and over its channel (one serializer for both)."""\n\n'
            f"from rest_framework import serializers\n\nfrom .models import {name}\n\n\n"
            f"class {name}Serializer(serializers.ModelSerializer):\n"
            f"    class Meta:\n        model = {name}\n        fields = {_py(shown)}\n"
            f"        read_only_fields = {_py(read_only)}\n"
        ),
        "filters.py": (
            f'"""The {channel} list\'s filters, which its sockets take too (/ws/{channel}?...)."""\n\n'
            f"import django_filters\n\nfrom .models import {name}\n\n\n"
            f"class {name}Filter(django_filters.FilterSet):\n"
            f"    class Meta:\n        model = {name}\n        fields = {_py(filtered)}\n"
        ),
        "views.py": (
            f'"""The {channel} REST API: the registration\'s rules (owner, visibility, serializer) alone."""\n\n'
            f"from broadcasting import LiveModelViewSet\n\nfrom .models import {name}\n\n\n"
            f"class {name}ViewSet(LiveModelViewSet):\n    queryset = {name}.objects.all()\n"
        ),
        "admin.py": (
            f"from django.contrib import admin\n\nfrom .models import {name}\n\n\n"
            f"@admin.register({name})\nclass {name}Admin(admin.ModelAdmin):\n"
            f"    list_display = {_py(['pk', title] if title else ['pk'])}\n"
        ),
        "test_live.py": (
            f'"""{name} is live: registered, served over REST, and its list carries the channel\'s seq."""\n\n'
            "import pytest\nfrom rest_framework.test import APIClient\n\n"
            f"from broadcasting import live_models\n\nfrom .models import {name}\n\n\n"
            f"def test_{model._meta.model_name}_is_live_on_its_channel():\n"
            f"    live_model = live_models.for_model({name})\n"
            f'    assert live_model is not None and live_model.channel == "{channel}"\n\n\n'
            "@pytest.mark.django_db\n"
            "def test_its_list_carries_the_channels_seq():\n"
            f'    response = APIClient().get("/api/{channel}/")\n'
            '    assert response.status_code == 200 and "X-Channel-Seq" in response\n'
        ),
    }


def _py(value: Any) -> str:
    """``value`` (a string or a list of them) as Python source in the project's style: double quotes."""
    if isinstance(value, list):
        return "[" + ", ".join(_py(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
