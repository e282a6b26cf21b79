from django.apps import AppConfig


class BroadcastingConfig(AppConfig):
    name = "broadcasting"
    verbose_name = "Live events"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (checks registers itself)

        signals.connect_model_signals()
