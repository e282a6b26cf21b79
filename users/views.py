from broadcasting.api import LiveModelViewSet

from .models import User
from .permissions import IsStaffOrSelf
from .serializers import UserSerializer


class UserViewSet(LiveModelViewSet):
    """Users: signed-in users read public fields; staff manage everyone."""

    queryset = User.objects.order_by("id")
    serializer_class = UserSerializer
    permission_classes = [IsStaffOrSelf]
    filterset_fields = ["is_active", "is_staff"]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at"]
