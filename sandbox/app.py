"""Build and start a complete sandbox: state, routes, scenario."""

from __future__ import annotations

from pathlib import Path

from sandbox.control import Control
from sandbox.graph_api import GraphApi
from sandbox.instagram_api import InstagramApi
from sandbox.scenario import apply_scenario, load_scenario
from sandbox.server import SandboxServer
from sandbox.state import SandboxState
from sandbox.x_api import XApi


def start_sandbox(port: int = 0, state_file: Path | None = None,
                  scenario_file: Path | None = None) -> SandboxServer:
    """Start a sandbox on loopback in a background thread and return it (see `.url`).

    Raise ValueError when the scenario file is invalid, OSError when the port is taken.
    """
    scenario = load_scenario(scenario_file) if scenario_file else None
    state = SandboxState(state_file)
    graph = GraphApi(state)
    # Instagram's routes first: its GET /{id} hands what is not Instagram's to the Page's
    routes = (Control(state).routes() + XApi(state).routes()
              + InstagramApi(state, graph).routes() + graph.routes())
    server = SandboxServer(state, routes, port=port)
    if scenario is not None:
        server.timers = apply_scenario(state, scenario)
    return server.start()
