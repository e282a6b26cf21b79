"""System checks: a live model must not be able to change data silently, the delivery
limits must let a socket that reads hold at least two whole frames, every allowed
socket origin must name one origin (or one domain's subdomains), never any, the
fan-out's share of the loop under requests must be a share, and a channel's relay
backlog must hold at least one message."""

from django.core import checks

from broadcasting.conf import realtime_setting
from broadcasting.live.registry import live_models
from broadcasting.publish.querysets import LiveQuerySet
from broadcasting.sockets.origins import normalize_origin


@checks.register()
def check_live_models_use_live_querysets(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for live_model in live_models:
        for manager in live_model.model._meta.managers:
            queryset_class = getattr(manager, "_queryset_class", None)
            if not (isinstance(queryset_class, type) and issubclass(queryset_class, LiveQuerySet)):
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


@checks.register()
def check_outbox_holds_two_frames(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    max_frame_bytes, outbox_max_bytes = realtime_setting("MAX_FRAME_BYTES"), realtime_setting("OUTBOX_MAX_BYTES")
    if outbox_max_bytes >= 2 * max_frame_bytes:
        return []
    return [
        checks.Error(
            f'REALTIME["OUTBOX_MAX_BYTES"] ({outbox_max_bytes}) is less than twice REALTIME["MAX_FRAME_BYTES"] '
            f"({max_frame_bytes}): one large event would close every socket as a slow consumer.",
            hint="Raise OUTBOX_MAX_BYTES or lower MAX_FRAME_BYTES.",
            id="broadcasting.E002",
        )
    ]


@checks.register()
def check_allowed_origins_are_origins(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Error(
            f'REALTIME["ALLOWED_ORIGINS"] entry {pattern!r} is not an origin.',
            hint='Write scheme://host[:port], like "https://app.example.com" or "https://*.example.com"; '
            '"*" (any origin) is not allowed: it would let any site read a signed-in user\'s data.',
            id="broadcasting.E003",
        )
        for pattern in realtime_setting("ALLOWED_ORIGINS")
        if normalize_origin(pattern.replace("://*.", "://", 1)) is None
    ]


@checks.register()
def check_fanout_share_is_a_share(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    share = realtime_setting("FANOUT_SHARE_DURING_REQUESTS")
    if isinstance(share, int | float) and 0 < share <= 1:
        return []
    return [
        checks.Error(
            f'REALTIME["FANOUT_SHARE_DURING_REQUESTS"] is {share!r}; it must be more than 0 and at most 1.',
            hint="1 gives REST requests no turn before the fan-out; 0.25 (the default) keeps the fan-out a "
            "quarter of the loop while requests run. 0 would let requests stop deliveries.",
            id="broadcasting.E004",
        )
    ]


@checks.register()
def check_relay_backlog_holds_a_message(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    size = realtime_setting("RELAY_BACKLOG_MESSAGES")
    if isinstance(size, int) and size >= 1:
        return []
    return [
        checks.Error(
            f'REALTIME["RELAY_BACKLOG_MESSAGES"] is {size!r}; it must be a whole number of at least 1.',
            hint="It bounds what waits for a channel's fan-out in a process (delivery/fanout.py); 1000 is the default. "
            "0 would drop every message from the layer and feed every socket from the history.",
            id="broadcasting.E005",
        )
    ]
