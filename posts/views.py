from broadcasting import LiveModelViewSet

from .models import Post
from .permissions import IsAuthorOrStaffOrReadOnly
from .serializers import PostSerializer


class PostViewSet(LiveModelViewSet):
    """Posts: anyone reads published ones; authors edit their own; staff edit all."""

    queryset = Post.objects.select_related("author")  # who reads which: posts/live.py, applied by LiveModelViewSet
    serializer_class = PostSerializer
    permission_classes = [IsAuthorOrStaffOrReadOnly]
    search_fields = ["title", "body"]
    ordering_fields = ["id", "created_at", "updated_at", "title"]

    def perform_create(self, serializer) -> None:
        serializer.save(author=self.request.user)
