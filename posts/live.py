"""The posts channel: published posts to everyone, drafts to their author and staff."""

from broadcasting.registry import live_models

from .models import Post
from .serializers import PostSerializer

live_models.register(
    Post,
    channel="posts",
    serializer=PostSerializer,
    owner_field="author",
    public_when={"published": True},
)
