"""The FastAPI application: the identity mock and the gate service together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from biometrics import DomainError, ImageTooLarge, time_limit
from biometrics.imaging import human_size
from gate_service.api import router as gate_router
from gatesim.admin import router as admin_router
from gatesim.housekeeping import purge_periodically
from gatesim.logmask import configure_logging, install_log_mask
from gatesim.memory import limit_malloc_arenas
from gatesim.metrics import ERRORS, exposition
from gatesim.runtime import (
    Runtime,
    build_runtime,
    database_answers,
    server_encoder,
    warm_up,
)
from gatesim.settings import Settings, get_settings
from identity_mock.api import router as identity_router
from kiosk_ui.api import router as kiosk_router

logger = logging.getLogger(__name__)

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for form fields and multipart headers on top of the image itself."""

READINESS_DATABASE_TIMEOUT_S = 2.0
"""How long the readiness probe waits for the database before saying no."""

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
        configure_logging(settings.log_level)
        install_log_mask("uvicorn", "uvicorn.error", "uvicorn.access")
        app.state.ready = False
        own = runtime or build_runtime(settings, server_encoder(settings))
        app.state.runtime = own
        await anyio.to_thread.run_sync(warm_up, app.state.runtime)
        app.state.ready = True
        logger.info("worker ready")
        purging = asyncio.create_task(purge_periodically(app.state.runtime))
        yield
        purging.cancel()
        with suppress(asyncio.CancelledError):
            await purging  # a purge under way finishes first
        if runtime is None:
            own.encoder.close()
        own.engine.dispose()

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
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DataError, _value_not_storable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(SQLAlchemyTimeoutError, _database_unavailable)
    limit = settings.max_image_bytes + MULTIPART_OVERHEAD_BYTES
    app.add_middleware(BodySizeLimit, max_bytes=limit)
    app.add_middleware(RequestTimeLimit, seconds=settings.request_time_limit_s)
    probes = anyio.CapacityLimiter(2)  # never queued behind face work

    @app.get("/metrics", tags=["service"], include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics (see `gatesim.metrics`)."""
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers (on the event loop, even when busy)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["service"])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: models warmed up and the database answering (else 503)."""
        if not getattr(request.app.state, "ready", False):
            return JSONResponse({"status": "starting"}, 503)
        with anyio.move_on_after(READINESS_DATABASE_TIMEOUT_S):
            answers = await anyio.to_thread.run_sync(
                database_answers,
                request.app.state.runtime,
                limiter=probes,
                abandon_on_cancel=True,  # a hung database must not hang the probe
            )
            if answers:
                return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "database_unavailable"}, 503)

    return app


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The JSON body of every error answer."""
    return {"error": {"code": code, "message": message}}


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    ERRORS.labels(error.code).inc()
    return JSONResponse(error_body(error.code, error.message), error.status_code)


class DatabaseUnavailable(DomainError):
    """The database did not answer (down, unreachable, or every connection busy)."""

    code = "database_unavailable"
    status_code = 503
    default_message = (
        "The service cannot reach its database just now. Try again in a moment."
    )


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    logger.error("database unavailable: %s", type(error).__name__)
    return await _domain_error(request, DatabaseUnavailable())


async def _value_not_storable(request: Request, error: Exception) -> JSONResponse:
    logger.warning("value refused by the database: %s", type(error).__name__)
    message = "A value is out of range or holds characters that cannot be stored."
    return JSONResponse(error_body("invalid_request", message), 422)


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code < 400:
        return Response(status_code=error.status_code, headers=error.headers)
    code = "not_found" if error.status_code == 404 else "invalid_request"
    body = error_body(code, str(error.detail))
    return JSONResponse(body, error.status_code, headers=error.headers)


async def _unexpected_error(_request: Request, _error: Exception) -> JSONResponse:
    # The server logs the traceback (masked, without statement parameters).
    message = (
        "Something went wrong on the service's side and nothing was saved. "
        "Try again; if it happens again, tell the operator."
    )
    return JSONResponse(error_body("internal_error", message), 500)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
        for item in error.errors()
    )
    return JSONResponse(error_body("invalid_request", problems), 422)


class RequestTimeExpired(DomainError):
    """The request body did not arrive within the request's time limit."""

    code = "request_timeout"
    status_code = 408
    default_message = (
        "The upload took too long. Check the connection and send the photo again."
    )


class RequestTimeLimit:
    """Gives every request a deadline (`biometrics.time_limit`).

    The body must arrive before it (else 408); stages that have not started by
    then are refused with 503 ``busy``; a stage under way finishes.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request under its deadline; time the body's arrival."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        expired = False
        replaced = False

        async def timed_receive() -> Message:
            nonlocal expired
            with anyio.move_on_after(deadline - anyio.current_time()):
                return await receive()
            expired = True
            raise RequestTimeExpired()

        async def answering_send(message: Message) -> None:
            # The framework turns a failed body read into its own 400; the
            # client is owed the reason, so the 408 replaces that answer.
            nonlocal replaced
            if not expired:
                await send(message)
            elif not replaced:
                replaced = True
                error = RequestTimeExpired()
                body = error_body(error.code, error.message)
                await JSONResponse(body, error.status_code)(scope, _no_body, send)

        with time_limit(self.seconds):
            await self.app(scope, timed_receive, answering_send)


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
