"""Device API keys: which gate, kiosk or counter may present faces where.

A key is shown once, when its device is registered; only its SHA-256 is
stored. Keys are 256 random bits, so a plain hash is enough to make a stolen
table useless.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from biometrics import DomainError
from gate_service.models import Device

KEY_PREFIX = "gsk_"
KEY_RANDOM_BYTES = 32


class DeviceKind(StrEnum):
    """What kind of device holds a key."""

    GATE = "gate"
    KIOSK = "kiosk"
    COUNTER = "counter"


class DeviceExists(DomainError):
    """A device with this id is already registered."""

    code = "device_exists"
    status_code = 409
    default_message = "A device with this id is already registered: pick another id."


class DeviceNotFound(DomainError):
    """No device has this id."""

    code = "device_not_found"
    status_code = 404
    default_message = "No device has this id."


def hash_key(api_key: str) -> str:
    """The stored form of an API key (SHA-256, hex)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def register_device(
    session: Session, *, device_id: str, kind: DeviceKind, touchpoints: Sequence[str]
) -> tuple[Device, str]:
    """Register a device; answers it and its API key (shown this once only)."""
    if session.get(Device, device_id) is not None:
        raise DeviceExists()
    api_key = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    device = Device(
        id=device_id,
        kind=kind.value,
        touchpoints=sorted(set(touchpoints)),
        key_hash=hash_key(api_key),
        created_at=datetime.now(UTC),
    )
    session.add(device)
    session.flush()
    return device, api_key


def revoke_device(session: Session, device_id: str) -> Device:
    """Revoke a device's key; its next request is refused."""
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound()
    if device.revoked_at is None:
        device.revoked_at = datetime.now(UTC)
    session.flush()
    return device


def device_of_key(session: Session, api_key: str) -> Device | None:
    """The device holding this key, if the key is known and not revoked."""
    device = session.scalar(select(Device).where(Device.key_hash == hash_key(api_key)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def list_devices(session: Session) -> list[Device]:
    """Every registered device, revoked ones included."""
    return list(session.scalars(select(Device).order_by(Device.id)))
