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


def machine() -> str:
    """The machine a figure was measured on: cores and load average (shared machines drift)."""
    load = ", ".join(f"{figure:.2f}" for figure in os.getloadavg())
    return f"machine: {os.cpu_count()} cores, load average {load}"


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def compare(measure: str, unit: str, steward: list[float], baseline: list[float],
            baseline_name: str, higher_is_better: bool = True) -> float:
    """Print Steward's and the baseline's medians from the same (interleaved) rounds and the
    ratio, `how many times better Steward is` (> 1 is better); return that ratio."""
    ours, theirs = median(steward), median(baseline)
    ratio = ours / theirs if higher_is_better else theirs / ours
    print(f"{measure}: Steward {ours:,.3f} {unit}, {baseline_name} {theirs:,.3f} {unit} "
          f"(medians of {len(steward)} interleaved rounds); Steward {ratio:.2f}x "
          f"{'as fast' if ratio >= 1 else 'slower: as fast'} as the baseline")
    print(machine())
    return ratio
