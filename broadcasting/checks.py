"""System checks: a live model must not be able to change data silently."""

from django.core import checks

from .querysets import LiveQuerySet
from .registry import live_models


@checks.register()
def check_live_models_use_live_querysets(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    for live_model in live_models:
        for manager in live_model.model._meta.managers:
            if not issubclass(manager._queryset_class, LiveQuerySet):
                errors.append(
                    checks.Error(
                        f"Manager {manager.name!r} of live model {live_model.model_label} is not built on "
                        "LiveQuerySet, so its update()/bulk_create()/bulk_update() would change data "
                        "without sending events.",
                        hint="Use LiveQuerySet.as_manager(), or Manager.from_queryset(a LiveQuerySet subclass).",
                        obj=live_model.model,
                        id="broadcasting.E001",
                    )
                )
    return errors
