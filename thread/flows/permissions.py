"""Who may call what.

A system (bearer key) is judged by its kind: each view says which kinds may read it and which
may push to it (`system_read_kinds`, `system_push_kinds`). A person (admin session) is judged by
Django model permissions of their groups, with `view` needed to read.
"""

from __future__ import annotations

from rest_framework import permissions

from .choices import SystemKind
from .models import ApiKey

ALL_KINDS = frozenset(SystemKind.values)


def calling_system(request):
    return request.auth.system if isinstance(request.auth, ApiKey) else None


class CallerRights(permissions.DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        system = calling_system(request)
        if system is not None:
            if request.method in permissions.SAFE_METHODS:
                allowed = getattr(view, "system_read_kinds", ALL_KINDS)
            else:
                allowed = getattr(view, "system_push_kinds", frozenset())
            if system.kind not in allowed:
                self.message = (
                    f"A {system.get_kind_display()} system may not "
                    f"{'read' if request.method in permissions.SAFE_METHODS else 'push'} here."
                )
                return False
            return True
        if not (request.user and request.user.is_authenticated):
            return False
        required = getattr(view, "required_perms", None)
        if required is not None:
            return request.user.has_perms(required.get(request.method, required.get("*", [])))
        return super().has_permission(request, view)
