"""
How users look over REST, and so over the users channel.

What a reader sees depends on who they are: staff and the user themselves see every
field; everyone else sees the public fields only, never the email address. The live
channel renders events through this same serializer for each kind of viewer, so a
socket never shows more than REST would.

What a writer may change follows the admin (permissions.py says who may write at all):
``is_staff`` only by a superuser, ``is_active`` only with ``users.change_user``, and a
user's own password or email only with ``current_password`` (checked before whether the
new address is taken). A new password ends the account's other sessions and tokens
(credentials.py).
"""

from django.contrib.auth import password_validation
from rest_framework import serializers

from .credentials import change_password
from .models import User

# Shown to staff and the user themselves only; the API documents (broadcasting/contract/)
# mark them optional, since other readers never get them.
PRIVATE_USER_FIELDS = frozenset({"email", "is_staff"})


def _viewer(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class UserSerializer(serializers.ModelSerializer):
    private_fields = PRIVATE_USER_FIELDS
    # Set by update() when the writer changed their own password over a token: its successor.
    new_token_key: str | None = None

    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_null=True,
        style={"input_type": "password"},
        help_text="Optional. Without one the account gets an unusable password.",
    )
    current_password = serializers.CharField(
        write_only=True,
        required=False,
        style={"input_type": "password"},
        help_text="Your current password; needed to change your own password.",
    )

    class Meta:
        model = User
        fields = ["id", "email", "name", "is_active", "is_staff", "created_at", "password", "current_password"]
        read_only_fields = ["id", "created_at"]
        # Whether an address is taken is checked in validate(), after the current password.
        extra_kwargs: dict[str, dict] = {"email": {"validators": []}}

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        viewer = _viewer(self)
        if viewer is not None and (viewer.is_staff or viewer.pk == instance.pk):
            return data
        return {name: value for name, value in data.items() if name not in self.private_fields}

    def validate(self, attrs: dict) -> dict:
        viewer = _viewer(self)
        if viewer is not None:
            self._check_privileged_fields(viewer, attrs)
        password = attrs.get("password")
        current_password = attrs.pop("current_password", None)
        own = (
            self.instance
            if self.instance is not None and viewer is not None and viewer.pk == self.instance.pk
            else None
        )
        new_email = "email" in attrs and attrs["email"] != getattr(self.instance, "email", None)
        if own is not None and (password or new_email):
            if not current_password or not own.check_password(current_password):
                raise serializers.ValidationError(
                    {"current_password": "Give your current password to change your password or email."}
                )
        if new_email:
            self._check_email_is_free(attrs["email"])
        if password:
            candidate = User(
                email=attrs.get("email", getattr(self.instance, "email", "")),
                name=attrs.get("name", getattr(self.instance, "name", "")),
            )
            password_validation.validate_password(password, candidate)
        return attrs

    def _check_privileged_fields(self, viewer, attrs: dict) -> None:
        """The admin's rules for the fields that grant or take away access."""
        errors = {}
        if "is_staff" in attrs and attrs["is_staff"] != getattr(self.instance, "is_staff", False):
            if not viewer.is_superuser:
                errors["is_staff"] = "Only a superuser may grant or take away staff status."
        if "is_active" in attrs and attrs["is_active"] != getattr(self.instance, "is_active", True):
            if not viewer.has_perm("users.change_user"):
                errors["is_active"] = "Only staff with the change user permission may change this field."
        if errors:
            raise serializers.ValidationError(errors)

    def create(self, validated_data: dict) -> User:
        password = validated_data.pop("password", None)
        return User.objects.create_user(password=password, **validated_data)

    def update(self, instance: User, validated_data: dict) -> User:
        password = validated_data.pop("password", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        if password:
            self.new_token_key = change_password(instance, password, self.context.get("request"))
        else:
            instance.save()
        return instance

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value)

    def _check_email_is_free(self, email: str) -> None:
        others = User.objects.filter(email__iexact=email)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError({"email": "A user with this email already exists."})
