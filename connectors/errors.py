"""The four errors every connector call can raise, whatever the platform.

The daemon branches on these and nothing else:

- `AuthenticationFailed`: a person must act (expired token, revoked app, missing permission).
- `RateLimited`: wait `retry_after` seconds (None when the platform did not say; the caller then
  backs off by itself and never retries at once).
- `TemporaryFailure`: retry with back-off. `ambiguous` is True when the request may have taken
  effect on the platform (a timeout or dropped connection after the request was sent), so the
  caller must look before it retries.
- `Rejected`: the platform refused this request for good (bad input, duplicate, not found).
  `Unsupported` is the Rejected of a call the platform's API cannot make at all; the connector's
  capabilities say so beforehand, so the daemon meets it only when it forgot to look.

And one that is not the platform's doing:

- `ConnectorBug`: the connector's own code failed (a KeyError, TypeError, ValueError... while
  reading an answer, usually because the answer had a shape Steward did not expect). Nothing
  suggests that trying again will help, so it is never treated as an outage: the connector
  logs it with its traceback, and the caller tells the administrator and stops that work.
  `ambiguous` is True when the request that changes something had been sent, so the change
  may have happened.

Messages are plain English, name the platform, and never contain tokens, URLs with query
strings, or post content.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class: a platform call did not succeed."""

    def __init__(self, platform: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{platform}: {message}")
        self.platform = platform
        self.message = message
        self.status = status


class AuthenticationFailed(ConnectorError):
    """The credentials were refused or lack a permission; an administrator must act."""


class RateLimited(ConnectorError):
    """The platform asked us to slow down."""

    def __init__(
        self, platform: str, message: str, *, retry_after: float | None, status: int | None = 429
    ) -> None:
        super().__init__(platform, message, status=status)
        self.retry_after = retry_after


class TemporaryFailure(ConnectorError):
    """The platform or the network failed in a way that may pass."""

    def __init__(
        self, platform: str, message: str, *, ambiguous: bool = False, status: int | None = None
    ) -> None:
        super().__init__(platform, message, status=status)
        self.ambiguous = ambiguous


class Rejected(ConnectorError):
    """The platform refused the request permanently."""


class Unsupported(Rejected):
    """The platform's API offers no way to do this; the connector's capabilities say so."""


class ConnectorBug(ConnectorError):
    """Steward's connector code failed: a bug (or an answer of a shape it does not know), never
    an outage. `error_class` names the original exception (chained as `__cause__`)."""

    def __init__(self, platform: str, action: str, error_class: str, *,
                 ambiguous: bool = False) -> None:
        super().__init__(
            platform,
            f"Steward's connector to {platform} failed while trying to {action} ({error_class}): "
            "a bug in Steward or an answer of a shape it does not know, not an outage, so it "
            "is not retried; the administrator should report it",
        )
        self.action = action
        self.error_class = error_class
        self.ambiguous = ambiguous
