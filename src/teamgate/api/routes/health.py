"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from teamgate.api.schemas import HealthOut
from teamgate.storage.db import migrations_current
from teamgate.storage.repositories import health as repo

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "Not ready: a check failed (see `checks`)."}})
async def readyz(request: Request):
    rt = request.app.state.rt
    checks: dict[str, str] = {}
    try:
        await repo.ping(rt.engine)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if await migrations_current(rt.engine) else "behind"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if request.app.state.runs_dispatcher:  # this process sends the email: its dispatcher must be running
        checks["dispatcher"] = "ok" if request.app.state.dispatcher.alive else "stopped"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)
