"""The detector on Steward's functional suite (tests/moderation/functional/), function by function.

For each abusive function: the share caught (acted on or sent to review) and the share acted on;
for each function that must not be acted on: the share acted on and the share sent to review.
Then the issue 20 targets, each with the figure and whether it is met: threats caught >= 98%,
every abusive function >= 90%, all abusive >= 93%; non-abusive acted on <= 8% overall and <= 15%
in any one function; fair complaints about the school acted on 0%. The suite holds slurs and
threats: this prints figures and function names only, never a message.

The contextual model was trained on half of the suite (tests/moderation/functional.held_out
says which); the figures that count are the held-out half's, printed first. `--all` prints the
whole suite as well.

Run: .venv/bin/python benchmarks/moderation_functional.py [--detector contextual|packaged] [--all]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.moderation import ModerationRules, classify_many  # noqa: E402
from tests.moderation import functional  # noqa: E402
from tests.moderation.functional import Case  # noqa: E402


def packaged_detector(texts: list[str]) -> list[str]:
    """The detector before issue 20: the layers and the packaged bag-of-words model."""
    return [verdict.verdict for verdict in classify_many(texts, ModerationRules())]


def contextual_detector(texts: list[str]) -> list[str]:
    """Today's default: the layers and the contextual model, decided as the daemon decides."""
    import tempfile  # noqa: PLC0415

    from daemon.moderation.contextual_model import open_contextual_model, with_scores  # noqa: PLC0415

    cache = Path(os.environ.get("STEWARD_MODEL_CACHE") or tempfile.mkdtemp(prefix="model-"))
    model, why_not = open_contextual_model(cache)
    if model is None:
        raise SystemExit(f"the contextual model cannot be used: {why_not}")
    return [verdict.verdict for verdict in classify_many(texts, with_scores(
        texts, ModerationRules(), model))]


DETECTORS: dict[str, Callable[[list[str]], list[str]]] = {
    "contextual": contextual_detector, "packaged": packaged_detector}


def share(verdicts: list[str], wanted: tuple[str, ...]) -> float:
    return sum(verdict in wanted for verdict in verdicts) / len(verdicts) if verdicts else 0.0


def report(cases: list[Case], verdicts: list[str]) -> list[tuple[str, float, float, bool]]:
    """Print a line per function and the targets; return (target, figure, limit, met)."""
    by_function: dict[str, list[str]] = {}
    for case, verdict in zip(cases, verdicts, strict=True):
        by_function.setdefault(case.function, []).append(verdict)
    print(f"{'abusive function':<28}{'cases':>6}{'caught':>9}{'acted on':>10}")
    for function in functional.ABUSIVE:
        found = by_function[function]
        print(f"{function:<28}{len(found):>6}{share(found, ('act', 'review')):>9.1%}"
              f"{share(found, ('act',)):>10.1%}")
    print(f"\n{'must not be acted on':<28}{'cases':>6}{'acted on':>10}{'reviewed':>10}")
    for function in functional.NOT_ABUSIVE:
        found = by_function[function]
        print(f"{function:<28}{len(found):>6}{share(found, ('act',)):>10.1%}"
              f"{share(found, ('review',)):>10.1%}")

    def pooled(functions: tuple[str, ...]) -> list[str]:
        return [verdict for function in functions for verdict in by_function[function]]

    caught = ("act", "review")
    targets = [
        ("threats caught", share(pooled(functional.THREATS), caught),
         functional.THREATS_CAUGHT, True),
        ("weakest abusive function caught",
         min(share(by_function[f], caught) for f in functional.ABUSIVE),
         functional.EACH_ABUSIVE_FUNCTION_CAUGHT, True),
        ("all abusive caught", share(pooled(functional.ABUSIVE), caught),
         functional.ALL_ABUSIVE_CAUGHT, True),
        ("non-abusive acted on", share(pooled(functional.NOT_ABUSIVE), ("act",)),
         functional.ALL_NOT_ABUSIVE_ACTED_ON, False),
        ("worst non-abusive function acted on",
         max(share(by_function[f], ("act",)) for f in functional.NOT_ABUSIVE),
         functional.EACH_NOT_ABUSIVE_FUNCTION_ACTED_ON, False),
        ("fair complaints acted on", share(pooled(functional.FAIR_COMPLAINTS), ("act",)),
         functional.FAIR_COMPLAINTS_ACTED_ON, False),
    ]
    print("\ntargets (issue 20)")
    results = []
    for name, figure, limit, at_least in targets:
        met = figure >= limit if at_least else figure <= limit
        sign = ">=" if at_least else "<="
        print(f"  {name:<36}{figure:>7.1%}   target {sign} {limit:.0%}   "
              f"{'met' if met else 'NOT MET'}")
        results.append((name, figure, limit, met))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", choices=sorted(DETECTORS), default="contextual")
    parser.add_argument("--all", action="store_true", help="also report the whole suite")
    arguments = parser.parse_args()
    cases = functional.load()
    verdicts = DETECTORS[arguments.detector]([case.text for case in cases])
    held = [(case, verdict) for case, verdict in zip(cases, verdicts, strict=True)
            if functional.held_out(case)]
    print(f"detector: {arguments.detector}; held-out half of the functional suite (never "
          f"trained on): {len(held)} cases, {sum(case.abusive for case, _ in held)} abusive\n")
    report([case for case, _ in held], [verdict for _, verdict in held])
    if arguments.all:
        print(f"\nthe whole suite ({len(cases)} cases; half of it trained on)\n")
        report(cases, verdicts)


if __name__ == "__main__":
    main()
