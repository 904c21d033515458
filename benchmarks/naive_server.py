"""The straightforward way, for comparison: face_recognition called in the route.

What most tutorials build: the image loaded with ``load_image_file``, faces
found and encoded at full size, ``compare_faces`` against every enrolled
encoding at face_recognition's 0.6. The gallery is encoded at start-up from the
first photo of each person listed in ``GATESIM_NAIVE_GALLERY`` (one path a line).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import face_recognition
from fastapi import FastAPI, UploadFile


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    paths = Path(os.environ["GATESIM_NAIVE_GALLERY"]).read_text().split()
    encodings, names = [], []
    for path in paths:
        found = face_recognition.face_encodings(face_recognition.load_image_file(path))
        if found:
            encodings.append(found[0])
            names.append(path)
    app.state.gallery = (encodings, names)
    yield


app = FastAPI(lifespan=_lifespan)


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@app.post("/gate/v1/{touchpoint}")
def present(touchpoint: str, image: UploadFile) -> dict[str, Any]:
    """Match the uploaded face against the gallery, the naive way."""
    encodings, names = app.state.gallery
    probe = face_recognition.face_encodings(
        face_recognition.load_image_file(image.file)
    )
    if not probe:
        return {"decision": "refer", "reason_code": "no_face"}
    matches = face_recognition.compare_faces(encodings, probe[0])
    matched = [name for name, match in zip(names, matches, strict=True) if match]
    return {"decision": "open" if matched else "refer", "matched": matched[:1]}
