"""The posts channel: published posts to everyone, drafts to their author and staff."""

from broadcasting import live_models

from .filters import PostFilter
from .models import Post
from .serializers import PostSerializer
from .views import PostViewSet

live_models.register(
    Post,
    channel="posts",
    serializer=PostSerializer,
    owner_field="author",
    public_when={"published": True},
    owner_may_change=["published"],  # authors publish their own posts
    viewset=PostViewSet,  # its REST API at /api/posts/
    filterset=PostFilter,  # the REST list's filters, on sockets too
)
