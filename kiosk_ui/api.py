"""The kiosk: its page at ``/kiosk`` and the check-in call the page makes."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import FileResponse

from biometrics import DomainError
from gate_service.schemas import DeviceId
from gate_service.touchpoints import GateRequest, Touchpoint, present
from gatesim.deps import ImageUpload, RuntimeDep, read_upload
from gatesim.security import CallerDep, device_for
from identity_mock.models import Citizen
from kiosk_ui.boarding_pass import boarding_pass_view

PAGE = Path(__file__).parent / "static" / "index.html"

router = APIRouter(tags=["kiosk"])


@router.get("/kiosk", include_in_schema=False)
def kiosk_page() -> FileResponse:
    """The touchscreen check-in page."""
    return FileResponse(PAGE, media_type="text/html")


@router.post("/kiosk/v1/check-in")
def kiosk_check_in(
    image: ImageUpload,
    runtime: RuntimeDep,
    caller: CallerDep,
    device_id: Annotated[DeviceId, Form()] = "kiosk",
) -> dict[str, Any]:
    """Check in by face; answers a boarding pass, a referral, or a retry."""
    recorded_device = device_for(caller, Touchpoint.CHECK_IN.value, device_id)
    request = GateRequest(
        Touchpoint.CHECK_IN, recorded_device or device_id, read_upload(image)
    )
    try:
        answer = present(runtime.gate, request)
    except DomainError as error:
        return {"decision": "retry", "reason_code": error.code, "boarding_pass": None}

    boarding_pass = None
    if answer.decision == "open" and answer.passenger_id is not None:
        with runtime.sessions() as session:
            citizen = session.get(Citizen, answer.passenger_id)
            name = citizen.full_name if citizen else "-"
        view = boarding_pass_view(answer, name, runtime.settings.zone)
        boarding_pass = asdict(view) if view else None
    return {
        "decision": answer.decision.value,
        "reason_code": answer.reason_code,
        "boarding_pass": boarding_pass,
    }
