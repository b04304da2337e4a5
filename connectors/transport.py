"""HTTP plumbing shared by the connectors: timeouts on every request, and redirection to the sandbox.

Neither tweepy nor facebook-sdk sets a request timeout by default, and tweepy hard-codes its
host. A requests transport adapter mounted on the SDK's own `requests.Session` fixes both without
patching any SDK method: it fills in a timeout when the caller gave none and, in sandbox mode,
rewrites `https://api.twitter.com/...` or `https://graph.facebook.com/...` to the loopback sandbox.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

X_API_HOST = "https://api.twitter.com"
GRAPH_API_HOST = "https://graph.facebook.com"

# What requests takes as a timeout: seconds, (connect, read) seconds, or None for none.
Timeout = float | tuple[float | None, float | None] | None


class TimeoutAndRedirectAdapter(HTTPAdapter):
    """Send with a default timeout; optionally send to `redirect_to` instead of the real host."""

    def __init__(self, timeout: float, redirect_to: str | None = None) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout
        self.redirect_to = redirect_to.rstrip("/") if redirect_to else None

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Timeout = None, verify: bool | str = True,
             cert: str | tuple[str, str] | None = None,
             proxies: dict[str, str] | None = None) -> requests.Response:
        if timeout is None:
            timeout = self.timeout
        if self.redirect_to is not None:
            if request.url is None:  # requests prepares every request with one before sending
                raise ValueError("requests handed the transport a request without a URL")
            original = urlsplit(request.url)
            target = urlsplit(self.redirect_to)
            request.url = urlunsplit(
                (target.scheme, target.netloc, original.path, original.query, "")
            )
            proxies = {}
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


class RefusingAdapter(BaseAdapter):
    """Refuse every request: in sandbox mode, nothing may leave for a real host."""

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Timeout = None, verify: bool | str = True,
             cert: str | tuple[str, str] | None = None,
             proxies: dict[str, str] | None = None) -> requests.Response:
        raise requests.ConnectionError(
            f"sandbox mode: refusing to contact {urlsplit(request.url or '').netloc}"
        )

    def close(self) -> None:
        pass


def prepare_session(
    session: requests.Session, host: str, timeout: float, sandbox_url: str | None
) -> None:
    """Mount the adapter on `session` for `host`.

    In sandbox mode every request to the real host goes to `sandbox_url`, and requests to any
    other host are refused, so no request can reach a real platform.
    """
    if sandbox_url is not None:
        session.trust_env = False  # never let HTTPS_PROXY send sandbox traffic elsewhere
        session.mount("https://", RefusingAdapter())
        session.mount("http://", RefusingAdapter())
    else:
        session.mount("https://", TimeoutAndRedirectAdapter(timeout))
    session.mount(host, TimeoutAndRedirectAdapter(timeout, sandbox_url))
