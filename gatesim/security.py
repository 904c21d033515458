"""Who is calling: the admin key, a device key, or nobody (development only).

Keys come in the ``X-API-Key`` header. The admin key (a setting) may do
everything. A device key may only present faces at its own touchpoints, and
the decisions it causes are recorded under its device id. Without a key, a
request is allowed only while keys are not required (development, the
default); a key that is sent is always checked, in every environment.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from biometrics import DomainError
from gate_service.devices import device_of_key
from gatesim.deps import RuntimeDep


class ApiKeyRequired(DomainError):
    """The request carried no API key, and this service requires one."""

    code = "api_key_required"
    status_code = 401
    default_message = "Send the device's or the admin's API key in X-API-Key."


class ApiKeyInvalid(DomainError):
    """The API key is unknown or revoked."""

    code = "api_key_invalid"
    status_code = 401
    default_message = (
        "This API key is unknown or revoked: ask the administrator for a new one."
    )


class AdminKeyRequired(DomainError):
    """A device key was used for something only the administrator may do."""

    code = "admin_key_required"
    status_code = 403
    default_message = (
        "A device key may only present faces: this needs the admin API key."
    )


class TouchpointNotAllowed(DomainError):
    """A device key was used at a touchpoint it is not registered for."""

    code = "touchpoint_not_allowed"
    status_code = 403
    default_message = (
        "This device is not registered for this touchpoint: use the touchpoint's "
        "own device key."
    )


@dataclass(frozen=True)
class Caller:
    """Who sent the request."""

    is_admin: bool = False
    device_id: str | None = None
    touchpoints: tuple[str, ...] = ()
    keys_required: bool = False


def get_caller(
    runtime: RuntimeDep,
    x_api_key: Annotated[
        str | None, Header(description="A device's or the admin's API key.")
    ] = None,
) -> Caller:
    """Resolve the X-API-Key header to the admin, a device, or nobody."""
    required = runtime.settings.api_keys_required
    if not x_api_key:
        return Caller(keys_required=required)
    admin_key = runtime.settings.admin_api_key
    if admin_key is not None and hmac.compare_digest(
        x_api_key.encode(), admin_key.get_secret_value().encode()
    ):
        return Caller(is_admin=True, keys_required=required)
    with runtime.sessions() as session:
        device = device_of_key(session, x_api_key)
        if device is None:
            raise ApiKeyInvalid()
        return Caller(
            device_id=device.id,
            touchpoints=tuple(device.touchpoints),
            keys_required=required,
        )


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_admin(caller: CallerDep) -> Caller:
    """Only the administrator (or anyone, while keys are not required)."""
    if caller.device_id is not None:
        raise AdminKeyRequired()
    if not caller.is_admin and caller.keys_required:
        raise ApiKeyRequired()
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]


def device_for(caller: Caller, touchpoint: str, device_id: str | None) -> str | None:
    """The device id to record at a touchpoint; refuses a key not meant for it.

    A device key's own id wins over any `device_id` the request names.
    """
    if caller.device_id is not None:
        if touchpoint not in caller.touchpoints:
            raise TouchpointNotAllowed()
        return caller.device_id
    if not caller.is_admin and caller.keys_required:
        raise ApiKeyRequired()
    return device_id
