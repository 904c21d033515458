"""Errors of the gate service."""

from __future__ import annotations

from biometrics import DomainError


class FlightNotFound(DomainError):
    """No flight with this code departs from this airport today."""

    code = "flight_not_found"
    status_code = 404
    default_message = "No flight with this code departs from this airport today."


class BookingNotFound(DomainError):
    """No booking matches the reference or identification number given."""

    code = "booking_not_found"
    status_code = 404
    default_message = "No booking for today matches what was given."
