"""Work a server process does on its own: the purge, on a timer."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gate_service.retention import run_purge
from gatesim.runtime import Runtime

logger = logging.getLogger(__name__)


async def purge_periodically(runtime: Runtime) -> None:
    """Run the purge at start-up, then every `purge_interval_s`, until cancelled.

    A run that fails on the database is logged and tried again at the next
    tick; the server goes on serving.
    """
    periods = runtime.settings.retention()
    while True:
        try:
            await run_in_threadpool(
                run_purge, runtime.sessions, periods, datetime.now(UTC)
            )
        except SQLAlchemyError:
            logger.exception("purge failed; trying again at the next tick")
        await asyncio.sleep(runtime.settings.purge_interval_s)
