from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from broadcasting import LiveModelViewSet
from realtime_site.parsers import API_PARSERS

from .models import User
from .permissions import UserAccountPermission
from .serializers import UserSerializer

NEW_TOKEN_HEADER = "X-Auth-Token"


class UserViewSet(LiveModelViewSet):
    """Users: signed-in users read public fields; staff manage others with the admin's permissions."""

    queryset = User.objects.order_by("id")
    serializer_class = UserSerializer
    permission_classes = [UserAccountPermission]
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at"]

    def perform_update(self, serializer: BaseSerializer) -> None:
        assert isinstance(serializer, UserSerializer)
        super().perform_update(serializer)
        self.new_token_key = serializer.new_token_key

    def finalize_response(self, request, response, *args, **kwargs):
        """A client that changed its own password over a token gets the new token in a header."""
        key = getattr(self, "new_token_key", None)
        if key is not None:
            response[NEW_TOKEN_HEADER] = key
        return super().finalize_response(request, response, *args, **kwargs)


class TokenLoginView(ObtainAuthToken):
    """
    POST /api/auth/token/ with ``username`` (the email) and ``password``: the account's
    API token for non-browser clients. Failed attempts count toward django-axes'
    lockout like the admin's and the login form's; a locked-out pair gets 429.
    """

    parser_classes = API_PARSERS  # ObtainAuthToken names DRF's own

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if serializer.is_valid():
            token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
            return Response({"token": token.key})
        if getattr(request, "axes_locked_out", False):
            return Response(
                {"detail": "Too many failed logins; try again later."}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
