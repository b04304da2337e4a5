"""HTTP plumbing shared by the connectors: timeouts on every request, and where requests go.

Neither tweepy nor facebook-sdk sets a request timeout by default, and tweepy hard-codes its
host (api.twitter.com, while X's API now lives at api.x.com). Each connector gives its SDK a
`PlatformSession`: a requests session that moves every request for the SDK's own host to the
address the configuration names (the platform, a school's proxy, or the sandbox on loopback)
*before* the request is prepared, so an OAuth 1.0a signature covers the address that is really
called; and an adapter that fills in a timeout when the caller gave none. In sandbox mode every
other address is refused, so no request can reach a real platform. No SDK method is patched.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

TWEEPY_HOST = "https://api.twitter.com"  # the host tweepy builds its URLs with
X_API_URL = "https://api.x.com"  # where X's API is: the servers of X's OpenAPI specification
GRAPH_API_HOST = "https://graph.facebook.com"

# What requests takes as a timeout: seconds, (connect, read) seconds, or None for none.
Timeout = float | tuple[float | None, float | None] | None


class PlatformSession(requests.Session):
    """A session whose requests for `sdk_host` go to `target` instead, rewritten before they
    are prepared (and so before they are signed)."""

    def __init__(self, sdk_host: str, target: str) -> None:
        super().__init__()
        self.sdk_host = sdk_host.rstrip("/")
        self.target = target.rstrip("/")

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        url = request.url if isinstance(request.url, str) else ""
        if url.startswith(self.sdk_host + "/") or url == self.sdk_host:
            request.url = self.target + url[len(self.sdk_host):]
        return super().prepare_request(request)


class TimeoutAdapter(HTTPAdapter):
    """Send with a default timeout when the caller gave none; never retry by itself."""

    def __init__(self, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Timeout = None, verify: bool | str = True,
             cert: str | tuple[str, str] | None = None,
             proxies: dict[str, str] | None = None) -> requests.Response:
        if timeout is None:
            timeout = self.timeout
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


def platform_session(sdk_host: str, timeout: float, sandbox_url: str | None,
                     api_url: str | None = None) -> PlatformSession:
    """The session an SDK should use: its requests for `sdk_host` go to `sandbox_url` (sandbox
    mode: every other address is then refused) or to `api_url` (the configured address of the
    platform; the SDK's own host when not given), each with a timeout."""
    target = sandbox_url if sandbox_url is not None else (api_url or sdk_host)
    session = PlatformSession(sdk_host, target)
    if sandbox_url is not None or target.startswith("http://"):
        session.trust_env = False  # a sandbox or stand-in on loopback: never through a proxy
    if sandbox_url is not None:
        session.mount("https://", RefusingAdapter())
        session.mount("http://", RefusingAdapter())
        session.mount(target.rstrip("/") + "/", TimeoutAdapter(timeout))
    else:
        session.mount("https://", TimeoutAdapter(timeout))
        if target.startswith("http://"):
            session.mount(target.rstrip("/") + "/", TimeoutAdapter(timeout))
    return session
