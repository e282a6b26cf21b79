"""The users channel: every user change, to signed-in sockets only, emails to staff and self."""

from broadcasting import live_models

from .filters import UserFilter
from .models import User
from .serializers import UserSerializer
from .views import UserViewSet

live_models.register(
    User,
    channel="users",
    serializer=UserSerializer,
    requires_auth=True,
    owner_field="pk",
    viewset=UserViewSet,  # its REST API at /api/users/
    filterset=UserFilter,
)
