"""The tests here run a whole Steward (tests/daemon/harness.py: the service, its threads and
scheduler, against a sandbox on loopback, in real time): they are the slow tier, left out of
`make test-fast` and run by `make test`. A test here that runs no Steward stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def runs_a_whole_steward(item: pytest.Item) -> bool:
    """Whether the test asks for a running Steward (the `steward` fixture) or its module makes
    one itself (StewardUnderTest)."""
    module = getattr(item, "module", None)
    return "steward" in getattr(item, "fixturenames", ()) or (
        module is not None and hasattr(module, "StewardUnderTest"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().is_relative_to(HERE) and runs_a_whole_steward(item):
            item.add_marker(pytest.mark.slow)
