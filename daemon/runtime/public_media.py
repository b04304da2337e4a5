"""Short-lived, unguessable URLs for the cleaned files a platform must fetch itself.

Instagram takes no upload: it fetches `image_url` from a public address ("We cURL media used
in publishing attempts", Meta's content publishing guide). Steward serves the file itself, on
a local address (`instagram.serve_address`) that the administrator's reverse proxy makes
public under `instagram.public_base_url` (docs/administrator.md). What it serves, and how:

- only files a connector handed it (the cleaned bytes whose SHA-256 the intake recorded),
  each under a new `secrets.token_urlsafe(32)` (256 bits) path: nothing to guess or list;
- only `GET` of an exact token path; every other method is 405, every other path 404, the
  same 404 for a token that never was and one that expired (nothing tells them apart);
- each for `url_lifetime_minutes` at most, and withdrawn as soon as the platform has it (the
  connector withdraws after the container is made, and whatever happens after a failure);
- `Cache-Control: no-store`, `X-Robots-Tag: noindex`, `Referrer-Policy: no-referrer`, and
  nothing kept on disk: the bytes live in memory for those minutes only.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.domain import ExposedMedia
from daemon.runtime.clock import Clock

_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}
_PREFIX = "/m/"


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a fetcher that hangs up is no error worth a traceback


class PublicMediaServer:
    """Serves exposed files at `<public_base_url>/m/<token>.<suffix>` until withdrawn or
    expired. `start()` binds `host:port` (port 0: any free one)."""

    def __init__(self, public_base_url: str | None, host: str = "127.0.0.1", port: int = 0,
                 lifetime: timedelta = timedelta(minutes=15), clock: Clock | None = None) -> None:
        self.lifetime = lifetime
        self.clock = clock or Clock()
        self._files: dict[str, tuple[bytes, str, datetime]] = {}
        self._lock = threading.Lock()
        self.served = 0  # how many GETs were answered with a file (tests and status read it)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # request lines carry tokens: never log them

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._get(self)

            def _refuse(self) -> None:
                server._answer(self, 405, b"", "text/plain", {"Allow": "GET"})

            do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

        self.httpd = _Quiet((host, port), Handler)
        bound_host, bound_port = self.httpd.server_address[:2]
        self.local_url = f"http://{bound_host!s}:{bound_port}"
        self.public_base_url = (public_base_url or self.local_url).rstrip("/")
        self._thread: threading.Thread | None = None

    def start(self) -> PublicMediaServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="public-media",
                                        kwargs={"poll_interval": 0.5}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            self._files.clear()

    # -- MediaHost ---------------------------------------------------------------------------

    def expose(self, data: bytes, mime_type: str) -> ExposedMedia:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            self._files[token] = (data, mime_type, self.clock.now() + self.lifetime)
        suffix = _SUFFIXES.get(mime_type, "")
        return ExposedMedia(f"{self.public_base_url}{_PREFIX}{token}{suffix}", token)

    def withdraw(self, exposed: ExposedMedia) -> None:
        with self._lock:
            self._files.pop(exposed.token, None)

    def exposed_count(self) -> int:
        """How many files are reachable now."""
        with self._lock:
            self._drop_expired()
            return len(self._files)

    # -- serving -----------------------------------------------------------------------------

    def _drop_expired(self) -> None:
        now = self.clock.now()
        for token in [t for t, (_, _, until) in self._files.items() if until <= now]:
            del self._files[token]

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        found = None
        if path.startswith(_PREFIX):
            token = path[len(_PREFIX):].rsplit(".", 1)[0] if "." in path[len(_PREFIX):] \
                else path[len(_PREFIX):]
            with self._lock:
                self._drop_expired()
                found = self._files.get(token)
                if found is not None and not path.endswith(_SUFFIXES.get(found[1], "")):
                    found = None
        if found is None:
            self._answer(handler, 404, b"", "text/plain")
            return
        self.served += 1
        self._answer(handler, 200, found[0], found[1])

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
                extra: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)),
                            "Cache-Control": "no-store", "X-Robots-Tag": "noindex",
                            "Referrer-Policy": "no-referrer", **(extra or {})}.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(body)
