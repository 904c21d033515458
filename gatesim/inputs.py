"""Types that check input at the HTTP edge, before it can reach the database.

Every string a client sends (JSON field, form field, path segment) is built on
`Printable`, and every database id on `Id`, so that input PostgreSQL or SQLite
would refuse is answered 422 ``invalid_request``, never 500.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

ID_MAX = 2**31 - 1
"""The largest id: PostgreSQL's ``integer``, the narrowest id column we have."""

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
"""C0 controls, DEL and lone surrogates: never typed by a person into an id,
a code or a name, and NUL is refused by PostgreSQL."""


def refuse_control_characters(text: str) -> str:
    """The text unchanged, or `ValueError` if it holds a control character."""
    found = CONTROL_CHARACTERS.search(text)
    if found is not None:
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X} at "
            f"position {found.start()}; send printable text only"
        )
    return text


Printable = AfterValidator(refuse_control_characters)
"""Refuses control characters. Put it after any length limit in an `Annotated`,
so that the limit's message speaks of characters."""

Id = Annotated[int, Field(ge=1, le=ID_MAX)]
"""A database id: 1 to 2**31 - 1."""
