from rest_framework import permissions


class IsStaffOrSelf(permissions.BasePermission):
    """
    Any signed-in user reads users; a user edits themselves; staff create, edit and
    delete anyone.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if view.action in ("create", "destroy"):
            return user.is_staff
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.user.is_staff or obj.pk == request.user.pk
