"""A logging filter that redacts secrets from the client's and urllib3's log records.

urllib3 logs request targets (query strings included) at DEBUG and retries at DEBUG; a
``?token=...`` there must not reach a log file, so their records are rewritten.
"""

from __future__ import annotations

import logging

from qhub._redact import redact_text

_LOGGERS = (
    "qhub.api",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.util.retry",
)


class RedactingFilter(logging.Filter):
    """Formats the record's message once and replaces secret values in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to logging itself
            return True
        record.msg = redact_text(message)
        record.args = ()
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Attach the filter to the loggers that can see URLs (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
