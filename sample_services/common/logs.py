"""JSON log lines that carry the request id and trace id."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from sample_services.common import context


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        # An explicit `extra=` wins: the request line is logged after the middleware has
        # already reset the context, and must still name its request.
        record.request_id = getattr(record, "request_id", None) or context.request_id.get()
        record.trace_id = getattr(record, "trace_id", None) or context.trace_id.get()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s"
            " %(service)s %(request_id)s %(trace_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log duplicates our request log line without the request id.
    logging.getLogger("uvicorn.access").disabled = True
