"""Structured logs carry the report id on every line about a report."""

from __future__ import annotations

import io
import json
import logging

from services.runtime.logs import REPORT_ID, JsonFormatter


def test_json_lines_name_the_report() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test.structured")
    log.addHandler(handler)
    log.propagate = False
    try:
        token = REPORT_ID.set("7f3e4a4e-0000-4000-8000-000000000000")
        log.warning("routed to %s", "pv27")
        REPORT_ID.reset(token)
        log.warning("no report here")
    finally:
        log.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["report_id"] == "7f3e4a4e-0000-4000-8000-000000000000"
    assert first["message"] == "routed to pv27"
    assert first["level"] == "warning"
    assert "report_id" not in second
