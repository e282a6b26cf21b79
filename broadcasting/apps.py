from django.apps import AppConfig


class BroadcastingConfig(AppConfig):
    name = "broadcasting"
    verbose_name = "Live events"

    def ready(self) -> None:
        from broadcasting import checks  # noqa: F401  (registers itself)
        from broadcasting.publish import signals

        signals.connect_model_signals()
