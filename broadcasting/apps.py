from django.apps import AppConfig


class BroadcastingConfig(AppConfig):
    name = "broadcasting"
    verbose_name = "Live events"

    def ready(self) -> None:
        from . import signals

        signals.connect_model_signals()
