# Two commands do all the set-up on a fresh machine:
#   make demo   install, then run the embedded quickstart and print the leaderboard
#   make test   install with test dependencies, then run the test suite
# torch is pinned to a CPU build here (an unpinned torch pulls several GB of CUDA packages).
# On another machine, point pip at the CPU wheels: make demo TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# torchattacks is the adversarial tests' reference implementation; its metadata asks for
	# torchvision (which pulls a CUDA torch), but the attacks we compare with need only torch.
	$(BIN)/python -m pip install --quiet --no-deps "torchattacks==3.5.1"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/harness run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check harness suites adapters zoo tests benchmarks
	$(BIN)/ruff format --check harness suites adapters zoo tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_accuracy_suite.py

clean:
	rm -rf $(VENV) results/runs
