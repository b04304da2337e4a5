"""One logging pipeline for Steward and the libraries it uses, with redaction built in.

Every line, whether from Steward (structlog) or from tweepy, APScheduler, urllib3 or requests
(stdlib logging), goes through the same processors and comes out as one JSON object per line.
Redaction is by construction: values under secret-looking keys are replaced at any depth, every
configured secret value is scrubbed from every string, and `access_token=...` in URLs is masked.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from daemon.runtime.clock import Clock

REDACTED = "[redacted]"
SECRET_KEYS = frozenset({
    "access_token", "access_token_secret", "consumer_key", "consumer_secret", "page_access_token",
    "bearer_token", "password", "secret", "token", "authorization", "private_key", "api_key",
    "refresh_token", "client_secret", "oauth_signature", "app_secret", "appsecret_proof",
})
_TOKEN_IN_TEXT = re.compile(
    r"(?i)(access_token|oauth_token|oauth_signature|bearer|input_token|appsecret_proof)"
    r"([=:\s\"]+)[^&\s\"',]+")
QUIET_LIBRARIES = ("tweepy", "urllib3", "requests", "requests_oauthlib", "oauthlib", "facebook",
                   "apscheduler", "watchdog")


class Redactor:
    """Remove secrets from an event dictionary, at any depth."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self.secret_values: set[str] = set()
        self._plain_names: set[str] = set()
        self.add(secret_values)

    def add(self, secret_values: Iterable[str]) -> None:
        """Register more secret values (only those long enough not to match ordinary words)."""
        self.secret_values.update(value for value in secret_values if value and len(value) >= 6)

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        return self.clean(event)

    def clean(self, value: Any, key: str | None = None) -> Any:
        if key is not None and key.lower() in SECRET_KEYS:
            return REDACTED
        if isinstance(value, dict):
            return self.clean_fields(value)
        if isinstance(value, list | tuple):
            return [self.clean(item) for item in value]
        if isinstance(value, str):
            return self.scrub(value)
        return value

    def clean_strings(self, fields: dict) -> dict | None:
        """The commonest event, strings under plain names, when nothing in it is secret:
        `fields` itself (the caller's own dictionary, e.g. its **keywords). None when a value
        is not a string, a name is a secret's, or there is something to scrub (then
        `clean_fields`)."""
        names = self._plain_names
        for key, value in fields.items():
            if type(value) is not str or (key not in names and not self._plain_name(key)):
                return None
        # No secret or token in the strings together: none in any one of them.
        text = "\x00".join(fields.values())
        for secret in self.secret_values:
            if secret in text:
                return None
        if _may_hold_a_token(text) and _TOKEN_IN_TEXT.search(text) is not None:
            return None
        return fields

    def _plain_name(self, key: Any) -> bool:
        """Whether `key` is a string that is not a secret's name (remembered: names are few)."""
        if type(key) is not str or key.lower() in SECRET_KEYS:
            return False
        if len(self._plain_names) < 4096:
            self._plain_names.add(key)
        return True

    def clean_fields(self, fields: dict) -> dict:
        """`clean` of a dictionary: each value cleaned under its key (a string, the commonest
        value, scrubbed without a further call)."""
        cleaned = {}
        for key, value in fields.items():
            name = str(key)
            if name.lower() in SECRET_KEYS:
                cleaned[key] = REDACTED
            elif type(value) is str:
                cleaned[key] = self.scrub(value)
            else:
                cleaned[key] = self.clean(value)
        return cleaned

    def anything_to_scrub(self, text: str) -> bool:
        """Whether `scrub` would change `text`."""
        for secret in self.secret_values:
            if secret in text:
                return True
        return _may_hold_a_token(text) and _TOKEN_IN_TEXT.search(text) is not None

    def scrub(self, text: str) -> str:
        for secret in self.secret_values:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if not _may_hold_a_token(text):
            return text
        return _TOKEN_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def _may_hold_a_token(text: str) -> bool:
    """False only when _TOKEN_IN_TEXT cannot match: ASCII text (where its case-blind match
    is a match in lower case) that holds none of its words. Each of its words contains
    `token`, `bearer` or `oauth_signature`. Other text is left to the expression itself."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return "token" in lowered or "bearer" in lowered or "oauth_signature" in lowered


REDACTOR = Redactor()


class Timestamper:
    """Stamp each line with the time of `clock`, as structlog's TimeStamper(fmt="iso",
    utc=True) would ("2026-11-22T09:00:00.123456Z"), but reading daemon.runtime.clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        event["timestamp"] = self.clock.now().isoformat().replace("+00:00", "Z")
        return event


def shared_processors(clock: Clock | None = None) -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        Timestamper(clock or Clock()),
        structlog.processors.format_exc_info,
        REDACTOR,
    ]


def configure_logging(stream: TextIO | None = None, level: int = logging.INFO,
                      secret_values: Iterable[str] = (), clock: Clock | None = None) -> None:
    """Send every log line, from Steward and from libraries, as redacted JSON to `stream`,
    stamped with `clock`'s time (the real one unless a caller gives its own)."""
    clock = clock or Clock()
    REDACTOR.add(secret_values)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(clock),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    REDACTOR, structlog.processors.JSONRenderer()],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:  # their DEBUG lines print request headers and bodies
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=shared_processors(clock) + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
