"""The access log without query strings.

Email links carry their token in the query (`/activation/confirmation?jeton=…`,
`/recovery/password/link?jeton=…`, `/account/email/validation?jeton=…`), and
so does the FranceConnect callback (`code`, `state`): a log line holding them
would let whoever reads the logs use a live link. uvicorn writes the path
*with* its query to the `uvicorn.access` logger; the filter below keeps the
path only, whatever runs the app (`python -m api`, uvicorn by hand, tests).
Names typed in a staff search (`?nom=…`) stay out of the log too."""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


def without_query(target: str) -> str:
    return target.split("?", 1)[0]


class PathOnly(logging.Filter):
    """Drop the query string from the request target of an access-log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                without_query(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def install() -> None:
    """Put the filter on the access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, PathOnly) for f in logger.filters):
        logger.addFilter(PathOnly())
