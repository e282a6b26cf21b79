"""
What a socket asks to follow, parsed in one place.

A ``/ws/<channel>`` (or ``/ws/<channel>/<pk>``) URL is a socket with one subscription
given by its query string; a ``subscribe`` frame on ``/ws/`` gives one more. Both are
read into a SubscribeRequest (``from_query``, ``from_frame``) and checked by the same
``subscription_for``: the channel exists, the user may read it, ``since`` and ``epoch``
are well formed, and the filter is one the channel's REST list would accept (its
FilterSet may query the database: a ModelChoiceFilter checks its id).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from broadcasting.conf import realtime_setting
from broadcasting.delivery.subscription import Subscription
from broadcasting.live.filters import FilterParams, InvalidFilter
from broadcasting.live.registry import live_models
from broadcasting.runtime.db_thread import database_call
from broadcasting.sockets.handshake import RESERVED_QUERY_PARAMS, Refused, query_text
from broadcasting.wire.client_ids import is_valid_client_id
from broadcasting.wire.protocol import ErrorCode

# The longest ``since`` a query may give: a seq fits a 64-bit counter.
MAX_SINCE_DIGITS = 18


@dataclass(frozen=True)
class SubscribeRequest:
    """A subscription as the client asked for it, not yet checked."""

    channel: object
    filter_pairs: Sequence[tuple[str, str]] = ()
    object_pk: str | None = None
    since: object = None
    epoch: object = None
    filter_error: str | None = None  # the filter could not even be read: this message


def from_query(channel: str, object_pk: str | None, query_string: bytes) -> SubscribeRequest:
    """The subscription of a ``/ws/<channel>[/<pk>]`` URL: every query parameter but the protocol's is a filter."""
    try:
        pairs = parse_qsl(
            query_text(query_string),
            keep_blank_values=True,
            max_num_fields=realtime_setting("MAX_FILTER_PARAMS") + len(RESERVED_QUERY_PARAMS),
        )
    except ValueError:
        return SubscribeRequest(channel, object_pk=object_pk, filter_error="Too many query parameters.")
    given = dict(pairs)
    since: object = given.get("since")
    if isinstance(since, str) and since.isascii() and since.isdigit() and len(since) <= MAX_SINCE_DIGITS:
        since = int(since)
    filter_pairs = [(name, value) for name, value in pairs if name not in RESERVED_QUERY_PARAMS]
    return SubscribeRequest(channel, filter_pairs, object_pk, since, given.get("epoch"))


def from_frame(content: dict[str, Any]) -> SubscribeRequest:
    """The subscription of a ``subscribe`` frame: ``{"channel", "filter", "since", "epoch"}``."""
    wanted = content.get("filter") or {}
    if not isinstance(wanted, dict) or not all(
        isinstance(value, str | int | float | bool) for value in wanted.values()
    ):
        return SubscribeRequest(
            content.get("channel"), filter_error='filter must be an object of parameters: {"author": "3"}.'
        )
    pairs = [
        (str(name), str(value).lower() if isinstance(value, bool) else str(value)) for name, value in wanted.items()
    ]
    return SubscribeRequest(content.get("channel"), pairs, None, content.get("since"), content.get("epoch"))


def _filter_value(value: str | int | float | bool) -> str:
    """A frame's filter value as a query string would give it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


async def subscription_for(
    request: SubscribeRequest, user: Any, audiences: tuple[str, ...], own_keys: frozenset[str]
) -> Subscription:
    """The checked subscription of ``request`` for a socket of ``user``; raises Refused."""
    channel = request.channel
    live_model = live_models.for_channel(channel) if isinstance(channel, str) else None
    if live_model is None or not isinstance(channel, str):
        raise Refused(ErrorCode.UNKNOWN_CHANNEL, f"Unknown channel: {str(channel)[:64]}")
    if live_model.requires_auth and not (user is not None and user.is_authenticated):
        raise Refused(ErrorCode.AUTH_REQUIRED, f"Sign in to subscribe to channel: {channel}")
    since = request.since
    if since is not None and not (isinstance(since, int) and not isinstance(since, bool) and since >= 0):
        raise Refused(ErrorCode.INVALID_SINCE, "since must be a non-negative integer seq.")
    epoch = request.epoch
    if epoch is not None and not (isinstance(epoch, str) and is_valid_client_id(epoch)):
        raise Refused(ErrorCode.INVALID_EPOCH, "epoch must be the epoch of a connection or subscribed frame.")
    if request.filter_error is not None:
        raise Refused(ErrorCode.INVALID_FILTER, request.filter_error)
    try:  # FilterParams.of bounds the parameters before anything parses them
        filter_params = FilterParams.of(request.filter_pairs, request.object_pk)
        live_filter = await database_call(filter_params.parse)(live_model, user) if filter_params else None
    except InvalidFilter as invalid:
        raise Refused(ErrorCode.INVALID_FILTER, str(invalid)) from invalid
    return Subscription(channel, audiences, own_keys, live_filter, since, epoch, filter_params=filter_params)
