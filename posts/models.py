"""Posts: written by a user, readable by anyone once published."""

from django.conf import settings
from django.db import models

from broadcasting.querysets import LiveQuerySet


class PostQuerySet(LiveQuerySet):
    def visible_to(self, user) -> "PostQuerySet":
        """Published posts for everyone; drafts too for their author; everything for staff."""
        if user is not None and user.is_staff:
            return self
        if user is not None and user.is_authenticated:
            return self.filter(models.Q(published=True) | models.Q(author_id=user.pk))
        return self.filter(published=True)


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    published = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["published", "-created_at"])]

    def __str__(self) -> str:
        return self.title
