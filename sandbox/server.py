"""The sandbox's HTTP machinery: request parsing, routing, fault injection and the server itself.

Routes are `(method, path pattern, handler)`; a handler takes a `SandboxRequest` and returns a
`Reply`. Faults are part of the sandbox's state, so tests and scenarios add them over HTTP
(`POST /_sandbox/faults`) and they survive a restart like everything else.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.state import SandboxState

IDLE_LOOK_SECONDS = 5.0  # how often the idle server's loop looks for a stop (stop() wakes it)


@dataclass
class Reply:
    """An HTTP answer: status, a JSON body (or raw bytes), extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


# What a request holds until a route matches it (the empty match of an empty string);
# handlers only ever see their route's match.
UNROUTED = next(re.finditer("", ""))


@dataclass
class SandboxRequest:
    """One parsed request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: bytes
    match: re.Match[str] = UNROUTED  # the route's match: the path's named parts
    _form: dict[str, Any] | None = None

    def json(self) -> Any:
        """Return the body parsed as JSON; raise ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, Any]:
        """Return urlencoded or multipart form fields (file parts as bytes)."""
        if self._form is None:
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                message = BytesParser(policy=HTTP).parsebytes(
                    b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + self.body
                )
                fields: dict[str, Any] = {}
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    if not isinstance(name, str):
                        continue  # no plain name (or RFC 2231's): no handler could ask for it
                    payload = part.get_payload(decode=True)
                    if not isinstance(payload, bytes):
                        payload = b""  # an empty part
                    filename = part.get_param("filename", header="content-disposition")
                    fields[name] = payload if filename else payload.decode("utf-8")
                self._form = fields
            elif content_type.startswith("application/x-www-form-urlencoded"):
                self._form = dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
            else:
                self._form = {}
        return self._form

    def param(self, name: str, default: Any = None) -> Any:
        """Return a parameter from the query string or the form, in that order."""
        if name in self.query:
            return self.query[name]
        return self.form().get(name, default)


Handler = Callable[[SandboxRequest], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler


def route(method: str, pattern: str, handler: Handler) -> Route:
    """Build a route; `pattern` is a regular expression matched against the whole path."""
    return Route(method, re.compile(pattern + r"\Z"), handler)


def platform_of(path: str) -> str:
    """Return which API a path belongs to: 'x', 'facebook' or 'sandbox'."""
    if path.startswith("/_sandbox"):
        return "sandbox"
    if path.startswith(("/2/", "/1.1/")):
        return "x"
    return "facebook"


def default_fault_body(platform: str, status: int) -> Any:
    """An error body in the platform's own shape, for a fault that names only a status."""
    if platform == "facebook":
        code = {429: 4, 400: 100, 401: 190, 403: 200, 404: 803}.get(status, 2)
        kind = "OAuthException" if code in (4, 190, 200) else "GraphMethodException"
        return {"error": {"message": f"(#{code}) Sandbox fault {status}", "type": kind,
                          "code": code, "fbtrace_id": "SandboxFault"}}
    titles = {429: "Too Many Requests", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Error")
    return {"title": title, "detail": title, "type": "about:blank", "status": status}


class _QuietHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A dropped connection (an injected fault) makes the handler fail as it finishes; that
        # is the point of the fault, not an error worth a traceback on stderr.
        return


class SandboxServer:
    """A threading HTTP server on loopback that serves the given routes over a `SandboxState`."""

    def __init__(self, state: SandboxState, routes: list[Route], port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.state = state
        self.routes = routes
        sandbox = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - stdlib signature
                return  # request lines carry tokens in query strings: never log them

            def _handle(self) -> None:
                sandbox.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = _QuietHTTPServer((host, port), RequestHandler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.timers: list[threading.Timer] = []  # a scenario's later events (sandbox.app)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        assert isinstance(host, str)  # an IP socket's address (bytes only for AF_UNIX)
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        """Serve in a background thread; return self."""
        # The loop sleeps until a request comes (it looks for a stop only every
        # IDLE_LOOK_SECONDS, so an idle sandbox costs no wake-ups); stop() knocks to wake it.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": IDLE_LOOK_SECONDS},
            name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket, and write the state if requests were counted
        since it was last written."""
        stopping = threading.Thread(target=self.httpd.shutdown, name="sandbox-stop", daemon=True)
        stopping.start()
        while stopping.is_alive() and self._thread is not None and self._thread.is_alive():
            host, port = self.httpd.server_address[:2]
            try:  # a connection wakes the loop, which then sees the stop
                socket.create_connection((str(host), int(port)), timeout=1).close()
            except OSError:
                pass
            stopping.join(0.05)
        stopping.join()
        self.httpd.server_close()
        self.state.flush()

    # -- one request -------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = SandboxRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=handler.headers,
            body=body,
        )
        platform = platform_of(request.path)
        if platform != "sandbox":
            self.state.count(f"{request.method} {request.path}")
        fault = None if platform == "sandbox" else self._take_fault(request)
        if fault and not fault.get("after"):
            if self._apply_fault(handler, fault, platform):
                return
        reply = self._dispatch(request)
        if fault and fault.get("after"):
            if self._apply_fault(handler, fault, platform):
                return
        self._send(handler, reply)

    def _dispatch(self, request: SandboxRequest) -> Reply:
        allowed = False
        for candidate in self.routes:
            match = candidate.pattern.match(request.path)
            if not match:
                continue
            allowed = True
            if candidate.method != request.method:
                continue
            request.match = match
            try:
                return candidate.handler(request)
            except (ValueError, KeyError, TypeError) as error:
                return Reply(400, default_fault_body(platform_of(request.path), 400)
                             | {"detail": f"sandbox could not parse the request: {error}"})
        status = 405 if allowed else 404
        return Reply(status, default_fault_body(platform_of(request.path), status))

    def _take_fault(self, request: SandboxRequest) -> dict[str, Any] | None:
        """The first fault that matches the request, used up by one; the state is written
        only when a fault was used (a request that meets none writes nothing)."""
        with self.state.read() as world:
            for fault in world["faults"]:
                if fault.get("times", 1) == 0:
                    continue
                if fault.get("method", "*") not in ("*", request.method):
                    continue
                if not re.search(fault.get("path", ".*"), request.path):
                    continue
                if fault.get("skip", 0) > 0:  # let this many matching requests through first
                    with self.state.change():
                        fault["skip"] -= 1
                    continue
                if fault.get("times", 1) > 0:
                    with self.state.change():
                        fault["times"] = fault.get("times", 1) - 1
                return dict(fault)
        return None

    def _apply_fault(self, handler: BaseHTTPRequestHandler, fault: dict[str, Any],
                     platform: str) -> bool:
        """Apply a fault; return True when it replaced the reply (the request is finished)."""
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("drop"):
            _reset_connection(handler)
            return True
        if "raw_body" in fault:
            status = int(fault.get("status", 200))
            self._send(handler, Reply(status, raw=fault["raw_body"].encode("utf-8"),
                                      headers=dict(fault.get("headers", {}))))
            return True
        if fault.get("status"):
            status = int(fault["status"])
            headers = dict(fault.get("headers", {}))
            if "reset_in" in fault:
                headers["x-rate-limit-reset"] = str(int(time.time() + float(fault["reset_in"])))
            self._send(handler, Reply(status, fault.get("body") or default_fault_body(platform, status),
                                      headers=headers))
            return True
        return False

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = reply.raw if reply.raw is not None else (
            b"" if reply.body is None else json.dumps(reply.body).encode("utf-8"))
        handler.send_response(reply.status)
        headers = {"Content-Type": "application/json; charset=UTF-8"} | reply.headers
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


def _reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the client's connection with a TCP reset and no reply."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
    except OSError:
        pass
