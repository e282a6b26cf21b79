"""
How presence looks to each reader: the ``presence``, ``join`` and ``leave`` frames.

A present user is shown as the users channel's REST serializer shows them to the
reader (live/audience.py): staff see staff fields, a user sees their own row as its owner,
everyone else the public fields; a reader who may not read that user over REST (an
anonymous socket, where the users channel needs sign-in) sees ``{"id": …}`` only, as
does everyone when the user model is not live at all.

A ``join`` is rendered once per audience, like an event, and each socket picks its
own. A ``presence`` answer is rendered per asker, but a reconnect storm asks for the
same list hundreds of times a second: the list's renderings for staff, readers and
anonymous sockets are kept for LISTING_CACHE_SECS and shared, and only the asker's own
row is rendered for them. (A user renamed meanwhile shows the old name that long.)
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from broadcasting.conf import realtime_setting
from broadcasting.live import audience
from broadcasting.live.registry import live_models
from broadcasting.presence.store import ChannelPresenceState
from broadcasting.wire import frames, renderings
from broadcasting.wire.events import PresenceChange
from broadcasting.wire.protocol import ServerFrame

LISTING_CACHE_SECS = 2.0
LISTING_CACHE_SIZE = 256


def presence_audiences(audiences: tuple[str, ...], signed_in: bool) -> tuple[str, ...]:
    """The audiences a socket picks presence renderings for: a socket with no user is ANONYMOUS first."""
    return audiences if signed_in else (audience.ANONYMOUS, *audiences)


def shown_user(user: Any, audience_key: str) -> dict:
    """``user`` as the REST API shows them to a reader of ``audience_key`` (module docstring)."""
    live_model = live_models.for_model(type(user))
    if live_model is None:
        return {"id": user.pk}
    visible = audience.visible_to(live_model, user)
    if audience_key == audience.ANONYMOUS:
        if live_model.requires_auth or audience.PUBLIC not in visible:
            return {"id": user.pk}
        audience_key = audience.PUBLIC
    elif audience_key not in visible and audience.PUBLIC not in visible:
        return {"id": user.pk}
    return renderings.serialize_for(live_model, user, audience_key)


def join_change(channel: str, user_key: str) -> PresenceChange | None:
    """The ``join`` of a user for every audience (the user's own, staff, readers, anonymous); None if gone."""
    user = users_by_key([user_key]).get(user_key)
    if user is None:
        return None
    keys = [audience.STAFF, audience.owner_audience(user.pk), audience.PUBLIC, audience.ANONYMOUS]
    renderings = {key: frames.encode(frames.join_frame(channel, shown_user(user, key))) for key in keys}
    public = renderings[audience.PUBLIC]
    return PresenceChange(
        channel,
        ServerFrame.JOIN,
        {key: text for key, text in renderings.items() if key == audience.PUBLIC or text != public},
    )


def leave_change(channel: str, user_key: str) -> PresenceChange:
    """A ``leave`` names the user by id only: the same for every reader."""
    user_id: int | str = int(user_key) if user_key.isdigit() else user_key
    return PresenceChange(
        channel, ServerFrame.LEAVE, {audience.PUBLIC: frames.encode(frames.leave_frame(channel, user_id))}
    )


def users_by_key(user_keys: Iterable[str]) -> dict[str, Any]:
    users = get_user_model()._default_manager.filter(pk__in=list(user_keys))
    return {str(user.pk): user for user in users}


@dataclass
class _Listing:
    """One list of present users, read once, with its renderings per shared audience."""

    users: dict[str, Any]
    made_at: float = field(default_factory=time.monotonic)
    shown: dict[str, list[dict]] = field(default_factory=dict)


_listings: dict[tuple[str, tuple[str, ...]], _Listing] = {}
_listings_lock = threading.Lock()


def _listing(channel: str, user_keys: tuple[str, ...]) -> _Listing:
    now = time.monotonic()
    with _listings_lock:
        listing = _listings.get((channel, user_keys))
        if listing is not None and now - listing.made_at < LISTING_CACHE_SECS:
            return listing
        if len(_listings) >= LISTING_CACHE_SIZE:
            for key in [key for key, old in _listings.items() if now - old.made_at >= LISTING_CACHE_SECS]:
                del _listings[key]
            if len(_listings) >= LISTING_CACHE_SIZE:
                _listings.clear()
    listing = _Listing(users_by_key(user_keys))
    with _listings_lock:
        _listings[(channel, user_keys)] = listing
    return listing


def _shared_audience(audience_key: str) -> str:
    """The audience whose rendering of the list an asker shares: theirs, but for their own row."""
    return audience_key if audience_key in (audience.STAFF, audience.ANONYMOUS) else audience.PUBLIC


def presence_frame(channel: str, state: ChannelPresenceState, audience_key: str) -> dict:
    """
    The ``presence`` frame for a reader of ``audience_key``: at most
    REALTIME["PRESENCE_MAX_LISTED_USERS"] users, and how many there are.
    """
    user_keys = tuple(state.users[: realtime_setting("PRESENCE_MAX_LISTED_USERS")])
    listing = _listing(channel, user_keys)
    shared = _shared_audience(audience_key)
    shown = listing.shown.get(shared)
    if shown is None:
        shown = listing.shown[shared] = [
            shown_user(listing.users[key], shared) for key in user_keys if key in listing.users
        ]
    if audience_key != shared:
        own = listing.users.get(audience_key.removeprefix("user:"))
        if own is not None:
            shown = [shown_user(own, audience_key) if row["id"] == own.pk else row for row in shown]
    return frames.presence_frame(channel, shown, len(state.users), state.anonymous)
