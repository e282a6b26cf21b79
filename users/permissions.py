"""
Who may do what to accounts over REST: the admin's rules, so the API is no back door.

- Any signed-in user reads users (public fields only; see serializers.py).
- A user edits their own name, email and password (the password only with the
  current one).
- Staff act on other accounts only with the model permissions the admin asks for:
  ``users.add_user``, ``users.change_user``, ``users.delete_user``.
- Only a superuser changes or deletes a superuser, or grants or takes away staff
  status (serializers.py checks the fields).
"""

from rest_framework import permissions

USER_PERMISSION_FOR_ACTION = {
    "create": "users.add_user",
    "update": "users.change_user",
    "partial_update": "users.change_user",
    "destroy": "users.delete_user",
}


class UserAccountPermission(permissions.BasePermission):
    message = "You may not change this account."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if view.action == "create":
            return user.has_perm(USER_PERMISSION_FOR_ACTION["create"])
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        actor = request.user
        if obj.is_superuser and not actor.is_superuser:
            return False
        if obj.pk == actor.pk and view.action != "destroy":
            return True
        needed = USER_PERMISSION_FOR_ACTION.get(view.action)
        return needed is not None and actor.has_perm(needed)
