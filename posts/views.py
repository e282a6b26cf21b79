from broadcasting.api import LiveModelViewSet

from .models import Post
from .permissions import IsAuthorOrStaffOrReadOnly
from .serializers import PostSerializer


class PostViewSet(LiveModelViewSet):
    """Posts: anyone reads published ones; authors edit their own; staff edit all."""

    serializer_class = PostSerializer
    permission_classes = [IsAuthorOrStaffOrReadOnly]
    filterset_fields = ["published", "author"]
    search_fields = ["title", "body"]
    ordering_fields = ["id", "created_at", "updated_at", "title"]

    def get_queryset(self):
        return Post.objects.visible_to(self.request.user).select_related("author")

    def perform_create(self, serializer) -> None:
        serializer.save(author=self.request.user)
