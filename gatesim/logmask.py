"""A safety net for logs: 12-digit ID numbers are masked on every handler.

The code never logs names, ID numbers or encodings on purpose; this filter
catches a 12-digit number that slips into a message anyway.
"""

from __future__ import annotations

import logging
import re

NATIONAL_ID = re.compile(r"(?<!\d)(\d{3})\d{7}(\d{2})(?!\d)")
"""A 12-digit personal identification number, not part of a longer number."""


class MaskNationalIds(logging.Filter):
    """Rewrites each record's message with its ID numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask in place; never drops a record."""
        message = record.getMessage()
        masked = NATIONAL_ID.sub(r"\1*******\2", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_mask(*logger_names: str) -> None:
    """Add the mask to every handler of the root logger and the named loggers."""
    for name in ("", *logger_names):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, MaskNationalIds) for f in handler.filters):
                handler.addFilter(MaskNationalIds())
