"""Posts: written by a user, readable by anyone once published."""

from django.conf import settings
from django.db import models

from broadcasting import LiveQuerySet


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who reads which post is posts/live.py's registration (owner_field, public_when),
    # for REST and sockets alike; Post.objects.visible_to(user) applies it.
    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["published", "-created_at"])]

    def __str__(self) -> str:
        return self.title
