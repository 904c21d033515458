"""Logging for every process, with a safety net: ID numbers are masked.

The code never logs names, ID numbers or encodings on purpose, and the
database engine hides statement parameters from its errors; this filter
catches a 12-digit number that slips into a message or a traceback anyway.
"""

from __future__ import annotations

import logging
import re
import warnings

NATIONAL_ID = re.compile(r"(?<!\d)(\d{3})\d{7}(\d{2})(?!\d)")
"""A 12-digit personal identification number, not part of a longer number."""


class MaskNationalIds(logging.Filter):
    """Rewrites each record's message with its ID numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask in place; never drops a record."""
        message = record.getMessage()
        masked = _mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _mask(record.exc_text)
        return True


def _mask(text: str) -> str:
    return NATIONAL_ID.sub(r"\1*******\2", text)


def install_log_mask(*logger_names: str) -> None:
    """Add the mask to every handler of the root logger and the named loggers."""
    for name in ("", *logger_names):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, MaskNationalIds) for f in handler.filters):
                handler.addFilter(MaskNationalIds())


def configure_logging(level: str) -> None:
    """Log to standard error at `level`, masked; once per process.

    Server workers are fresh processes, so each calls this at start-up with
    the level from settings (``gatesim -v`` passes INFO on to them).
    """
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_mask()
    # face_recognition_models imports pkg_resources, which warns on every start.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
