"""The sandbox's own endpoints under `/_sandbox/`: its state, faults and scripted events.

    GET    /_sandbox/state     the whole world as JSON
    POST   /_sandbox/faults    add a fault (or a list): {"method", "path" (regex), "status",
                               "delay", "drop", "after", "times", "headers", "reset_in",
                               "raw_body"}
    DELETE /_sandbox/faults    remove every fault
    POST   /_sandbox/events    apply an event now (see sandbox.events)
    POST   /_sandbox/time/advance  {"seconds": N}: N seconds pass for X's rate-limit windows,
                               Instagram's containers (they expire) and its publishing quota
                               (a benchmark that lists 100,000 followers at X's 15 requests per
                               15 minutes lets the windows end instead of waiting for them)
                               and for X's media uploads (processing steps, expiry)
    POST   /_sandbox/instagram {"quota_total", "processing_reads", "account_type"}: how the
                               Instagram account behaves
"""

from __future__ import annotations

from sandbox.events import apply_event
from sandbox.server import Reply, Route, SandboxRequest, route
from sandbox.state import SandboxState
from sandbox.x_uploads import ChunkedUploads

FAULT_KEYS = {"method", "path", "status", "delay", "drop", "after", "times", "headers",
              "reset_in", "raw_body", "body", "skip"}


class Control:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/_sandbox/state", self.get_state),
            route("GET", r"/_sandbox/health", lambda request: Reply(200, {"ok": True})),
            route("POST", r"/_sandbox/faults", self.add_faults),
            route("DELETE", r"/_sandbox/faults", self.clear_faults),
            route("POST", r"/_sandbox/events", self.add_event),
            route("POST", r"/_sandbox/x/tokens", self.issue_x_token),
            route("POST", r"/_sandbox/time/advance", self.advance_time),
            route("POST", r"/_sandbox/instagram", self.configure_instagram),
        ]

    def advance_time(self, request: SandboxRequest) -> Reply:
        """Let `seconds` pass for X's rate-limit windows: each window's reset comes that much
        sooner (a window whose reset has passed starts afresh at the next request, as on X)."""
        seconds = float(request.json()["seconds"])
        with self.state.change() as world:
            for window in world["x"]["rate_windows"].values():
                window["reset"] = int(window["reset"] - seconds)
            instagram = world["instagram"]  # containers age, publishing windows roll on
            for container in instagram["containers"].values():
                container["created_at"] -= seconds
            instagram["published_at"] = [at - seconds for at in instagram["published_at"]]
            ChunkedUploads.advance(world, seconds)
        return Reply(200, {"advanced": seconds})

    def configure_instagram(self, request: SandboxRequest) -> Reply:
        """Set the account's publishing quota, how many status reads a new container stays
        IN_PROGRESS for, or its account type (a personal account cannot publish by API)."""
        changes = request.json()
        with self.state.change() as world:
            instagram = world["instagram"]
            if "quota_total" in changes:
                instagram["publishing_limit"]["quota_total"] = int(changes["quota_total"])
            if "processing_reads" in changes:
                instagram["processing_reads"] = int(changes["processing_reads"])
            if "account_type" in changes:
                instagram["user"]["account_type"] = str(changes["account_type"])
        return Reply(200, {"ok": True})

    def get_state(self, request: SandboxRequest) -> Reply:
        return Reply(200, self.state.snapshot())

    def add_faults(self, request: SandboxRequest) -> Reply:
        payload = request.json()
        faults = payload if isinstance(payload, list) else [payload]
        for fault in faults:
            unknown = set(fault) - FAULT_KEYS
            if unknown:
                return Reply(400, {"error": f"unknown fault keys: {', '.join(sorted(unknown))}"})
        with self.state.change() as world:
            world["faults"].extend(faults)
        return Reply(200, {"faults": len(faults)})

    def clear_faults(self, request: SandboxRequest) -> Reply:
        with self.state.change() as world:
            world["faults"].clear()
        return Reply(200, {"faults": 0})

    def issue_x_token(self, request: SandboxRequest) -> Reply:
        """What re-authorising the app on X does: a new access token and secret."""
        with self.state.change() as world:
            credentials = world["x"]["credentials"]
            number = len(credentials.get("revoked", [])) + 1
            credentials["access_token"] = f"{world['x']['me']}-reissued{number}"
            credentials["access_token_secret"] = f"reissued-secret-{number}"
            return Reply(200, {"access_token": credentials["access_token"],
                               "access_token_secret": credentials["access_token_secret"]})

    def add_event(self, request: SandboxRequest) -> Reply:
        try:
            created = apply_event(self.state, request.json())
        except (ValueError, KeyError) as error:
            return Reply(400, {"error": str(error)})
        return Reply(200, created)
