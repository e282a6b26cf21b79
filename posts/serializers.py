"""How posts look over REST and over the posts channel (the same serializer for both)."""

from typing import Any

from rest_framework import serializers

from .models import Post


class PostSerializer(serializers.ModelSerializer):
    author: "serializers.PrimaryKeyRelatedField[Any]" = serializers.PrimaryKeyRelatedField(read_only=True)
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "body", "author", "author_name", "published", "created_at", "updated_at"]
        read_only_fields = ["id", "author", "created_at", "updated_at"]

    def get_author_name(self, post: Post) -> str:
        return post.author.name or f"user {post.author_id}"
