"""The admin API (``/admin/v1``): device keys and the purge, behind the admin key."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gate_service import devices
from gate_service.models import Device
from gate_service.retention import run_purge
from gate_service.schemas import DeviceId
from gate_service.touchpoints import Touchpoint
from gatesim.deps import RuntimeDep, SessionDep
from gatesim.security import require_admin

router = APIRouter(
    prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_admin)]
)


class DeviceIn(BaseModel):
    """A device to register."""

    device_id: DeviceId = Field(examples=["gate-12"])
    kind: devices.DeviceKind
    touchpoints: list[Touchpoint] = Field(min_length=1)


class DeviceOut(BaseModel):
    """A registered device (its key is never shown again)."""

    device_id: str
    kind: str
    touchpoints: list[str]
    created_at: datetime
    revoked_at: datetime | None


class NewDeviceOut(DeviceOut):
    """A device just registered, with its API key: shown this once."""

    api_key: str


class PurgeOut(BaseModel):
    """Rows deleted by one purge."""

    gate_copies: int
    templates: int
    reviews: int
    decisions: int


@router.post("/devices", status_code=201)
def register_device(body: DeviceIn, session: SessionDep) -> NewDeviceOut:
    """Register a device; the answer carries its API key, shown once."""
    device, api_key = devices.register_device(
        session,
        device_id=body.device_id,
        kind=body.kind,
        touchpoints=[touchpoint.value for touchpoint in body.touchpoints],
    )
    return NewDeviceOut(**_device_out(device).model_dump(), api_key=api_key)


@router.get("/devices")
def list_devices(session: SessionDep) -> list[DeviceOut]:
    """Every device, revoked ones included."""
    return [_device_out(device) for device in devices.list_devices(session)]


@router.post("/devices/{device_id}/revoke")
def revoke_device(device_id: DeviceId, session: SessionDep) -> DeviceOut:
    """Revoke a device's key at once."""
    return _device_out(devices.revoke_device(session, device_id))


@router.post("/purge")
def purge(runtime: RuntimeDep) -> PurgeOut:
    """Run the purge now (it also runs on its own; see README)."""
    report = run_purge(
        runtime.sessions, runtime.settings.retention(), datetime.now(UTC)
    )
    return PurgeOut(**asdict(report))


def _device_out(device: Device) -> DeviceOut:
    return DeviceOut(
        device_id=device.id,
        kind=device.kind,
        touchpoints=list(device.touchpoints),
        created_at=device.created_at,
        revoked_at=device.revoked_at,
    )
