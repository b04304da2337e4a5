"""The sandbox's distilled table of X's specification is the specification: regenerated from
X's openapi.json (in the shared fixtures), it is the file the sandbox reads, byte for byte."""

from __future__ import annotations

import importlib.util
import json

from tests.conftest import PROJECT_ROOT


def _generator():
    spec = importlib.util.spec_from_file_location(
        "distil_x_spec", PROJECT_ROOT / "scripts" / "distil_x_spec.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_table_the_sandbox_checks_requests_against_is_xs_specification(fixtures_dir):
    spec = json.loads((fixtures_dir / "x-api" / "openapi.json").read_text(encoding="utf-8"))
    committed = (PROJECT_ROOT / "sandbox" / "x_spec_table.py").read_text(encoding="utf-8")
    assert _generator().render(spec) == committed, (
        "X's specification changed: run scripts/distil_x_spec.py and review the difference")


def test_every_x_route_the_sandbox_serves_is_an_operation_x_has():
    from sandbox.app import start_sandbox  # noqa: PLC0415
    from sandbox.x_spec import find  # noqa: PLC0415

    server = start_sandbox()
    try:
        x_routes = [item for item in server.routes if item.pattern.pattern.startswith(("/2/",
                                                                                     "/1.1/"))]
    finally:
        server.stop()
    oauth2 = {"/2/oauth2/token", "/2/oauth2/revoke"}  # X's OAuth 2.0 guide, not the v2 API
    examples = {r"(?P<id>[^/]+)": "1500000000000000001", r"(?P<target>[^/]+)": "1",
                r"(?P<username>[^/]+)": "OakfieldPrimary"}
    for item in x_routes:
        path = item.pattern.pattern.removesuffix(r"\Z")
        for pattern, example in examples.items():
            path = path.replace(pattern, example)
        if path in oauth2:
            continue
        assert find(item.method, path) is not None, f"{item.method} {path} is not X's"
