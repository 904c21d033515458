"""Errors of the identity mock."""

from __future__ import annotations

from biometrics import DomainError


class CitizenNotFound(DomainError):
    """No citizen has this id."""

    code = "citizen_not_found"
    status_code = 404
    default_message = "No citizen has this id."


class NationalIdTaken(DomainError):
    """Another citizen already holds this personal identification number."""

    code = "national_id_taken"
    status_code = 409
    default_message = "A citizen with this identification number already exists."


class ConsentRequired(DomainError):
    """The citizen has not consented to the use of their face."""

    code = "consent_required"
    status_code = 409
    default_message = (
        "This citizen has not consented to biometric use: record their consent "
        "before enrolling a face."
    )
