"""Shared test fixtures: a live sandbox on loopback, connectors aimed at it, the shared fixtures."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
import requests

from connectors.domain import Media
from connectors.facebook import FacebookPageConnector
from connectors.x import XConnector
from daemon.posts.sample_images import png_image
from sandbox.app import start_sandbox
from sandbox.state import DEFAULT_FACEBOOK_CREDENTIALS, DEFAULT_X_CREDENTIALS

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The contextual model's int8 graph, built once per machine for the whole suite rather than
# in every test's state directory (about 5 s each); its name carries a digest of what it is
# built from and its SHA-256 is checked before use, so a stale one is rebuilt, never used.
os.environ.setdefault("STEWARD_MODEL_CACHE", os.path.join(
    tempfile.gettempdir(), f"steward-test-model-{os.getuid()}"))


def shared_fixtures() -> Path:
    """Where the shared fixtures live: $STEWARD_FIXTURES, else ../shared/fixtures."""
    return Path(os.environ.get("STEWARD_FIXTURES", PROJECT_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture
def fixtures_dir() -> Path:
    """The shared fixtures folder; tests that need it skip, with the reason, when it is absent."""
    folder = shared_fixtures()
    if not folder.is_dir():
        pytest.skip(f"shared fixtures not found at {folder} (set STEWARD_FIXTURES to use them)")
    return folder


@pytest.fixture
def sandbox(tmp_path):
    """A fresh sandbox persisted under tmp_path, stopped after the test."""
    server = start_sandbox(state_file=tmp_path / "sandbox-state.json")
    yield server
    server.stop()


class SandboxControl:
    """Plain HTTP calls to the sandbox's /_sandbox endpoints, as a person or script would make."""

    def __init__(self, url: str) -> None:
        self.url = url

    def state(self) -> dict:
        return requests.get(f"{self.url}/_sandbox/state", timeout=5).json()

    def fault(self, **fault) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=fault, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sandbox/faults", timeout=5).raise_for_status()

    def event(self, **event) -> dict:
        response = requests.post(f"{self.url}/_sandbox/events", json=event, timeout=5)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def control(sandbox) -> SandboxControl:
    return SandboxControl(sandbox.url)


@pytest.fixture
def x_connector(sandbox) -> XConnector:
    return XConnector(**DEFAULT_X_CREDENTIALS, sandbox_url=sandbox.url, timeout=2.0)


@pytest.fixture
def facebook_connector(sandbox) -> FacebookPageConnector:
    return FacebookPageConnector(**DEFAULT_FACEBOOK_CREDENTIALS, sandbox_url=sandbox.url,
                                 timeout=2.0)


@pytest.fixture
def photo(tmp_path) -> Media:
    """A small PNG written by the test itself, as a Media ready to publish."""
    path = tmp_path / "sports-day.png"
    path.write_bytes(png_image())
    return Media(path, "Children's shoes lined up on the track", "image/png",
                 hashlib.sha256(path.read_bytes()).hexdigest(), path.read_bytes())


@pytest.fixture
def steward(tmp_path):
    """A started Steward service on its embedded sandbox; stopped after the test."""
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    under_test = StewardUnderTest(tmp_path)
    under_test.start()
    yield under_test
    under_test.stop()
