"""Errors of the gate service."""

from __future__ import annotations

from biometrics import DomainError


class FlightNotFound(DomainError):
    """No flight with this code departs from this airport today."""

    code = "flight_not_found"
    status_code = 404
    default_message = "No flight with this code departs from this airport today."


class FlightExists(DomainError):
    """A flight with this code already leaves on that local day."""

    code = "flight_exists"
    status_code = 409
    default_message = "A flight with this code already departs that day."


class BookingExists(DomainError):
    """The citizen is already booked on this flight."""

    code = "booking_exists"
    status_code = 409
    default_message = "This citizen is already booked on this flight."


class FlightCodeRequired(DomainError):
    """Boarding needs to know which flight the gate is boarding."""

    code = "flight_code_required"
    status_code = 422
    default_message = "Boarding needs the flight_code of the flight at this gate."


class BookingNotFound(DomainError):
    """No booking matches the reference or identification number given."""

    code = "booking_not_found"
    status_code = 404
    default_message = "No booking for today matches what was given."


class DeviceIdRequired(DomainError):
    """A presentation without a device key must name its device."""

    code = "device_id_required"
    status_code = 422
    default_message = "Send the device_id of this camera, or the device's API key."
