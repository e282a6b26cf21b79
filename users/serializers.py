"""
How users look over REST, and so over the users channel.

What a reader sees depends on who they are: staff and the user themselves see every
field; everyone else sees the public fields only, never the email address. The live
channel renders events through this same serializer for each kind of viewer, so a
socket never shows more than REST would.
"""

from django.contrib.auth import password_validation
from rest_framework import serializers

from .models import User

PUBLIC_USER_FIELDS = ("id", "name", "is_active", "created_at")


def _viewer(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        style={"input_type": "password"},
        help_text="Optional. Without one the account gets an unusable password.",
    )

    class Meta:
        model = User
        fields = ["id", "email", "name", "is_active", "is_staff", "created_at", "password"]
        read_only_fields = ["id", "created_at"]

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        viewer = _viewer(self)
        if viewer is not None and (viewer.is_staff or viewer.pk == instance.pk):
            return data
        return {name: data[name] for name in PUBLIC_USER_FIELDS}

    def validate(self, attrs: dict) -> dict:
        viewer = _viewer(self)
        if viewer is not None and not viewer.is_staff:
            forbidden = sorted({"is_staff", "is_active"} & attrs.keys())
            if forbidden:
                raise serializers.ValidationError({name: "Only staff may change this field." for name in forbidden})
        password = attrs.get("password")
        if password:
            candidate = User(
                email=attrs.get("email", getattr(self.instance, "email", "")),
                name=attrs.get("name", getattr(self.instance, "name", "")),
            )
            password_validation.validate_password(password, candidate)
        return attrs

    def create(self, validated_data: dict) -> User:
        password = validated_data.pop("password", None)
        return User.objects.create_user(password=password, **validated_data)

    def update(self, instance: User, validated_data: dict) -> User:
        password = validated_data.pop("password", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if password:
            instance.set_password(password)
        instance.save()
        return instance

    def validate_email(self, value: str) -> str:
        value = User.objects.normalize_email(value)
        others = User.objects.filter(email__iexact=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("A user with this email already exists.")
        return value
