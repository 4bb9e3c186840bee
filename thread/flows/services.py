"""Write operations on systems and their keys; and "Test connection", which writes nothing."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from connectors.base import ProbeReport
from connectors.registry import get_connector
from thread.errors import StateConflict, invalid
from thread.history import audited

from .choices import SystemKind
from .delivery import client_for, peer_config
from .models import ApiKey, ExternalSystem

logger = logging.getLogger(__name__)

KEY_PREFIX = "thr_"
DEFAULT_KEY_LIFETIME = timedelta(days=365)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def system_create(
    *, name: str, kind: str, actor: AbstractBaseUser | None, reason: str, description: str = "",
    enabled: bool = True, **delivery,
) -> ExternalSystem:
    """A new system with its service user; `delivery` takes the settings
    `system_delivery_configure` takes (connector, base URL, …), set in the same transaction."""
    _delivery_fields_check(delivery)
    if kind not in SystemKind.values:
        raise invalid("/kind", "invalid_choice", f"kind must be one of {', '.join(SystemKind.values)}")
    if not name.strip():
        raise invalid("/name", "blank", "name must not be empty")
    with transaction.atomic():
        if ExternalSystem.objects.filter(name=name).exists():
            raise StateConflict(f"A system named {name!r} already exists.")
        user_model = get_user_model()
        service_user = user_model(username=f"svc-{slugify(name)}"[:150], is_staff=False)
        service_user.set_unusable_password()
        service_user.save()
        system = ExternalSystem(name=name, kind=kind, description=description,
                                enabled=enabled, service_user=service_user, **delivery)
        system.full_clean()
        audited(system, actor, reason).save()
    return system


def api_key_issue(
    *,
    system: ExternalSystem,
    actor: AbstractBaseUser | None,
    reason: str,
    label: str = "",
    expires_at: datetime | None = None,
) -> IssuedKey:
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = expires_at or timezone.now() + DEFAULT_KEY_LIFETIME
    if expires_at <= timezone.now():
        raise invalid("/expires_at", "in_past", "expires_at must be in the future")
    with transaction.atomic():
        api_key = ApiKey(
            system=system,
            label=label,
            prefix=raw_key[: len(KEY_PREFIX) + 6],
            key_hash=hash_api_key(raw_key),
            created_by=actor if actor and actor.is_authenticated else None,
            expires_at=expires_at,
        )
        audited(api_key, actor, reason).save()
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey, actor: AbstractBaseUser | None, reason: str) -> ApiKey:
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is not None:
            return api_key
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = actor if actor and actor.is_authenticated else None
        audited(api_key, actor, reason).save()
    return api_key


DELIVERY_FIELDS = frozenset({
    "connector", "base_url", "credential_name", "connector_options", "connect_timeout_seconds",
    "read_timeout_seconds", "max_attempts", "backoff_base_seconds", "backoff_cap_seconds",
    "delivery_enabled", "drift_check_enabled", "drift_check_every_minutes", "drift_check_batch",
})


def _delivery_fields_check(fields: dict) -> None:
    unknown = set(fields) - DELIVERY_FIELDS
    if unknown:
        raise invalid(f"/{sorted(unknown)[0]}", "unknown_field",
                      f"not a delivery setting: {', '.join(sorted(unknown))}")


def system_delivery_configure(*, system: ExternalSystem, actor: AbstractBaseUser | None,
                              reason: str, **fields) -> ExternalSystem:
    """Set how Thread sends to a system (connector, URL, credential name, timeouts, retries)
    and reads back what it sent (the drift check)."""
    _delivery_fields_check(fields)
    with transaction.atomic():
        system = ExternalSystem.objects.select_for_update().get(pk=system.pk)
        for name, value in fields.items():
            setattr(system, name, value)
        system.full_clean()
        audited(system, actor, reason).save()
    return system


PROBE_SECONDS = 10.0


def system_connection_test(*, system: ExternalSystem,
                           actor: AbstractBaseUser | None) -> ProbeReport:
    """"Test connection": the system's connector authenticates as a delivery would and reads
    one harmless URL, within the system's connect + read timeout, and says in plain words what
    is wrong. An operator's read-only diagnostic: it writes nothing — no outbox row, no
    history — and is only logged."""
    if not system.connector:
        report = ProbeReport(False, "no connector — Thread does not send to this system")
    else:
        try:
            connector = get_connector(system.connector)
        except LookupError as exc:
            report = ProbeReport(False, str(exc))
        else:
            # A person waits for the answer: at most PROBE_SECONDS, whatever the timeouts.
            deadline = time.monotonic() + min(PROBE_SECONDS, system.connect_timeout_seconds
                                              + system.read_timeout_seconds)
            try:
                report = connector.probe(client_for(system), peer_config(system),
                                         deadline=deadline)
            except Exception as exc:  # a connector's own probe that fails is reported, too
                logger.exception("connection test of %s crashed", system.name)
                report = ProbeReport(False, f"the probe failed — {type(exc).__name__}")
    logger.info("connection test of %s by %s: %s%s", system.name,
                actor.get_username() if actor is not None else "-",
                "ok: " if report.ok else "problem: ", report.summary)
    return report
