"""Structured logs: JSON lines when not on a terminal (for log collectors), plain text on one.

Every record may carry ``revision`` and ``object`` (``extra=``), which the JSON lines always have, so
a line can be traced to the manifest revision and the object it is about. Configured by ``reconciler run``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "revision": getattr(record, "revision", None),
            "object": getattr(record, "object", None),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in line})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [f"{k}={getattr(record, k)}" for k in ("revision", "object") if getattr(record, k, None)]
        return f"{text} {' '.join(extra)}".rstrip()


def configure_logging(level: str = "info", stream: TextIO | None = None, json_lines: bool | None = None) -> None:
    stream = stream or sys.stderr
    as_json = (not stream.isatty()) if json_lines is None else json_lines
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter() if as_json else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "docker", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
