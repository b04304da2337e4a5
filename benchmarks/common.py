"""Shared set-up for the benchmarks: a temporary state directory and a signer."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import (  # noqa: E402
    ApprovalSettings,
    PathSettings,
    SandboxSettings,
    SignerSettings,
    StewardSettings,
)
from daemon.runtime.keys import ApprovalKey, new_key  # noqa: E402
from daemon.runtime.logs import configure_logging  # noqa: E402


def settings_with_signer(root: Path | None = None) -> tuple[StewardSettings, ApprovalKey, Path]:
    """Default settings (sandbox mode) in a fresh temporary folder, with one SLT signer."""
    root = Path(root or tempfile.mkdtemp(prefix="steward-bench-"))
    key = new_key("Benchmark Signer", root / "signer.key")
    settings = StewardSettings(
        paths=PathSettings(state_dir=root / "state"),
        approval=ApprovalSettings(signers=[SignerSettings(
            name=key.name, public_key=key.public_key_base64())]),
        sandbox=SandboxSettings(state_file=root / "sandbox-state.json"),
    )
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - the figures only
    return settings, key, root


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
