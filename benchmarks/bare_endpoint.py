"""The ceiling for intake: the same framework and server, an endpoint that only parses JSON.

uvicorn benchmarks.bare_endpoint:app
"""

from __future__ import annotations

import json
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/api/v1/reports")
async def accept(request: Request) -> JSONResponse:
    data = json.loads(await request.body())
    return JSONResponse({"report_id": str(uuid.uuid4()), "category": data.get("category")}, 202)
