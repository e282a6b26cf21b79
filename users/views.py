from broadcasting.api import LiveModelViewSet

from .filters import UserFilter
from .models import User
from .permissions import UserAccountPermission
from .serializers import UserSerializer

NEW_TOKEN_HEADER = "X-Auth-Token"


class UserViewSet(LiveModelViewSet):
    """Users: signed-in users read public fields; staff manage others with the admin's permissions."""

    queryset = User.objects.order_by("id")
    serializer_class = UserSerializer
    permission_classes = [UserAccountPermission]
    filterset_class = UserFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at"]

    def perform_update(self, serializer: UserSerializer) -> None:
        super().perform_update(serializer)
        self.new_token_key = serializer.new_token_key

    def finalize_response(self, request, response, *args, **kwargs):
        """A client that changed its own password over a token gets the new token in a header."""
        key = getattr(self, "new_token_key", None)
        if key is not None:
            response[NEW_TOKEN_HEADER] = key
        return super().finalize_response(request, response, *args, **kwargs)
