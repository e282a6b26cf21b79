"""
Who sees which rendering of an event.

An event is rendered once per *audience*, not once per socket: staff, the object's
owner, and the public (every reader of the channel). A socket picks the first audience
it belongs to that the event has a rendering for; none means the event is not for it.
Rendering uses the model's own REST serializer with a stand-in viewer as
``request.user``, so live data never shows more than REST would.
"""

from collections.abc import Mapping
from dataclasses import dataclass

STAFF = "staff"
PUBLIC = "public"
# Sockets with no user, where a rendering for them differs from PUBLIC's (presence/tracker.py:
# a channel of users that requires sign-in shows anonymous sockets ids only).
ANONYMOUS = "anonymous"


def owner_audience(user_pk: int) -> str:
    return f"user:{user_pk}"


@dataclass(frozen=True)
class Viewer:
    """
    What a serializer sees as ``request.user`` when rendering for an audience. Live
    serializers decide visibility from ``pk``, ``is_staff`` and ``is_authenticated`` only.
    """

    pk: int | None
    is_staff: bool = False
    is_authenticated: bool = False

    @property
    def id(self) -> int | None:
        return self.pk

    @property
    def is_anonymous(self) -> bool:
        return not self.is_authenticated

    @property
    def is_superuser(self) -> bool:
        return False


STAFF_VIEWER = Viewer(pk=None, is_staff=True, is_authenticated=True)
PUBLIC_VIEWER = Viewer(pk=None)


def owner_viewer(user_pk: int) -> Viewer:
    return Viewer(pk=user_pk, is_authenticated=True)


def viewer_for(audience_key: str) -> Viewer:
    """The stand-in viewer an audience's rendering is made for."""
    if audience_key == STAFF:
        return STAFF_VIEWER
    if audience_key == PUBLIC:
        return PUBLIC_VIEWER
    return owner_viewer(int(audience_key.removeprefix("user:")))


def viewer_kind(audience_key: str) -> str:
    """STAFF, PUBLIC, or "owner" for every owner audience: viewers of one kind differ in ``pk`` only."""
    return audience_key if audience_key in (STAFF, PUBLIC) else "owner"


def visible_to(live_model, instance) -> frozenset[str]:
    """The audiences that may see ``instance`` in its current state (staff always may)."""
    audiences = {STAFF}
    owner_pk = live_model.owner(instance)
    if owner_pk is not None:
        audiences.add(owner_audience(owner_pk))
    if live_model.is_public(instance):
        audiences.add(PUBLIC)
    return frozenset(audiences)


def audiences_of(user) -> tuple[str, ...]:
    """The audiences a socket's user belongs to, most privileged first."""
    if user is None or not user.is_authenticated:
        return (PUBLIC,)
    if user.is_staff:
        return (STAFF, owner_audience(user.pk), PUBLIC)
    return (owner_audience(user.pk), PUBLIC)


# The rendering of an audience that saw nothing change (an update of fields it cannot
# see): it gets no frame, and its feed sends ``sync`` in its place.
NOTHING_VISIBLE = ""


def pick_rendering(renderings: Mapping[str, str], audiences: tuple[str, ...]) -> str | None:
    """The rendering for the first of ``audiences`` the event has one for, else None."""
    for audience in audiences:
        rendering = renderings.get(audience)
        if rendering is not None:
            return rendering
    return None
