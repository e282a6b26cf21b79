from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class BroadcastingConfig(AppConfig):
    name = "broadcasting"
    verbose_name = "Live events"

    def ready(self) -> None:
        from broadcasting import checks  # noqa: F401  (registers itself)
        from broadcasting.delivery.fanout import process_fanout
        from broadcasting.presence.counts import socket_counts
        from broadcasting.presence.tracker import presence
        from broadcasting.publish import signals

        signals.connect_model_signals()
        # Each installed app's live.py registers its models, as admin.py is found.
        autodiscover_modules("live")
        # Socket counts and presence follow the hub's joins and leaves.
        process_fanout.listen(socket_counts)
        process_fanout.listen(presence)
