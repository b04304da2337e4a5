"""What `steward moderate train` achieves: fine-tuned on four fifths of the OLID training set,
macro-F1 on the fifth it held out (the OffensEval measure; best system in 2019: 0.829). Needs the
[train] extra (PyTorch); prints figures only, never a message; about 20 minutes on two cores.
Target (issue 4): >= 0.80.
Run: .venv/bin/python benchmarks/moderation_training.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from moderation_quality import olid  # noqa: E402

from daemon.moderation_training import TrainingError, train  # noqa: E402


def main() -> None:
    texts, labels = olid()
    started = time.perf_counter()
    try:
        report = train(list(zip(texts, labels, strict=True)), Path(tempfile.mkdtemp()),
                       progress=lambda message: print(f"  {message}", file=sys.stderr,
                                                      flush=True))
    except TrainingError as error:
        raise SystemExit(str(error)) from None
    print(f"school model fine-tuned on OLID ({report['trained_on']:,} of {report['examples']:,} "
          f"examples; {report['held_out']:,} held out) "
          f"in {time.perf_counter() - started:.0f} s: held-out macro-F1 "
          f"{report['held_out_macro_f1']:.3f} (target >= 0.80)")


if __name__ == "__main__":
    main()
