"""The FastAPI application: the identity mock and the gate service together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from biometrics import DomainError, ImageTooLarge
from biometrics.imaging import human_size
from gate_service.api import router as gate_router
from gatesim.admin import router as admin_router
from gatesim.housekeeping import purge_periodically
from gatesim.logmask import install_log_mask
from gatesim.memory import limit_malloc_arenas
from gatesim.metrics import ERRORS, exposition
from gatesim.runtime import Runtime, build_runtime
from gatesim.settings import Settings, get_settings
from identity_mock.api import router as identity_router
from kiosk_ui.api import router as kiosk_router

logger = logging.getLogger(__name__)

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for form fields and multipart headers on top of the image itself."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None
) -> FastAPI:
    """Build the application; the runtime (database, models) loads at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_malloc_arenas(settings.malloc_arenas)
        install_log_mask("uvicorn", "uvicorn.error", "uvicorn.access")
        app.state.runtime = runtime or build_runtime(settings)
        purging = asyncio.create_task(purge_periodically(app.state.runtime))
        yield
        purging.cancel()
        with suppress(asyncio.CancelledError):
            await purging  # a purge under way finishes first
        app.state.runtime.engine.dispose()

    app = FastAPI(
        title="gatesim",
        summary="Biometric airport journey simulator: identity mock and gates.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(identity_router)
    app.include_router(gate_router)
    app.include_router(kiosk_router)
    app.include_router(admin_router)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    limit = settings.max_image_bytes + MULTIPART_OVERHEAD_BYTES
    app.add_middleware(BodySizeLimit, max_bytes=limit)

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics (see `gatesim.metrics`)."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error answer."""
    return {"error": {"code": code, "message": message}}


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    ERRORS.labels(error.code).inc()
    return JSONResponse(error_body(error.code, error.message), error.status_code)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
        for item in error.errors()
    )
    return JSONResponse(error_body("invalid_request", problems), 422)


class BodySizeLimit:
    """Refuses a request body over the limit before it is read whole (413)."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.max_bytes
        ):
            await self._refuse(send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ImageTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except ImageTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = ImageTooLarge(
            f"The upload is larger than {human_size(self.max_bytes)}."
        )
        response = JSONResponse(error_body(error.code, error.message), 413)
        await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
