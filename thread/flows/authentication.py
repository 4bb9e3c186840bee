from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiKey
from .services import hash_api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`: the request runs as the key's system's service user and
    `request.auth` is the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw_key = raw_key.strip()
        if not raw_key:
            raise exceptions.AuthenticationFailed("Bearer key missing.")
        api_key = (
            ApiKey.objects.select_related("system", "system__service_user")
            .filter(key_hash=hash_api_key(raw_key))
            .first()
        )
        now = timezone.now()
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        if api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if not api_key.system.enabled:
            raise exceptions.AuthenticationFailed("This system is disabled.")
        touch_every = timedelta(seconds=settings.THREAD_API_KEY_TOUCH_SECONDS)
        if api_key.last_used_at is None or api_key.last_used_at < now - touch_every:
            # A plain UPDATE on purpose: last-used is telemetry, not audited history.
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.system.service_user, api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="thread"'
