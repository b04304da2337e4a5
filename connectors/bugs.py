"""What a connector does when its own code fails: a bug is logged and raised, never retried.

A KeyError, TypeError, ValueError, AttributeError or IndexError raised while a connector calls a
platform or reads its answer is Steward's fault (or an answer of a shape Steward does not know):
waiting will not mend it, so it must not look like an outage (`TemporaryFailure`), which the
daemon retries. `connector_bug` logs it once, with its traceback, and returns the
`ConnectorBug` for the connector to raise in its place.

The log line carries the frames (file, line, function, source line) and the exception's class.
The exception's own message is left out unless it is a KeyError's key: a ValueError's message
can quote what the platform sent (a reply's text, a name), which never goes to a log.
"""

from __future__ import annotations

import traceback

import structlog

from connectors.errors import ConnectorBug

log = structlog.get_logger("steward.connectors")

# Exceptions that, raised inside a connector, mean its code is wrong, not the platform down.
BUG_CLASSES = (LookupError, TypeError, ValueError, AttributeError)


def frames(error: BaseException) -> str:
    """The traceback of `error` without its message: where it happened, not what it said."""
    lines = traceback.format_tb(error.__traceback__)
    detail = f": missing key {error.args[0]!r}" if isinstance(error, KeyError) and error.args \
        and isinstance(error.args[0], str | int) and len(str(error.args[0])) <= 40 else ""
    return "".join(lines) + f"{type(error).__name__}{detail}"


def connector_bug(platform: str, action: str, error: BaseException, *,
                  ambiguous: bool = False) -> ConnectorBug:
    """Log `error`, raised inside the connector for `platform` while trying to `action`, as
    the bug it is; return the ConnectorBug to raise (`from error`) instead."""
    log.error("connector.bug", platform=platform, action=action,
              error_class=type(error).__name__, ambiguous=ambiguous, traceback=frames(error))
    return ConnectorBug(platform, action, type(error).__name__, ambiguous=ambiguous)
