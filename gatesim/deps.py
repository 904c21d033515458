"""FastAPI dependencies, as `Annotated` aliases that tests can override."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, File, Request, UploadFile
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gatesim.db import RecordConflict, is_unique_violation
from gatesim.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """The process runtime built at start-up."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session in a transaction: committed after the route, rolled back on error.

    A route checks for a duplicate before it inserts; when a concurrent request
    inserts the same record in between, the database's unique constraint
    refuses the second, and it is answered 409 rather than 500.
    """
    try:
        with runtime.sessions() as session, session.begin():
            yield session
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise  # a broken rule, not a race: a 500, logged
        raise RecordConflict() from error


# scope="function": the commit happens before the answer is sent, so a client
# that got 201 can rely on the row being there for its next request.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

ImageUpload = Annotated[
    UploadFile,
    File(description="The photo or camera frame (JPEG, PNG, WebP, GIF, BMP, TIFF)."),
]


def read_upload(upload: UploadFile) -> bytes:
    """The uploaded file's bytes (the body size is already bounded by middleware)."""
    upload.file.seek(0)
    return upload.file.read()
