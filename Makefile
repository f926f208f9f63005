# Two commands do all the set-up on a fresh machine:
#   make demo   install what the quickstart uses, run it, print the headline per task and write
#               the report (results/report/index.html)
#   make test   install with test dependencies (every adapter, Ray, linters), then run the tests
# torch is pinned to a CPU build here (an unpinned torch pulls several GB of CUDA packages).
# On another machine, point pip at the CPU wheels: make demo TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
# Measured (README.md, "Two commands"): the demo install is 62 packages, 1.6 GB; the test install 143, 2.5 GB.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`: the quickstart run that many tests share (one worker)
# runs beside the rest of the suite instead of before it. Three on a 2-core machine: the same
# time as two when the machine is quiet, and a larger share of the CPU when other processes
# keep it busy (README.md, "Development", has the measurements).
TEST_WORKERS ?= 3

.PHONY: demo test install lint bench package-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the quickstart's dependencies only (core + the mnist extra)
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[mnist]"
	touch $(DEMO_STAMP)

# everything the tests exercise (the dev extra); includes the demo's dependencies
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# torchattacks is the adversarial tests' reference implementation; its metadata asks for
	# torchvision (which pulls a CUDA torch), but the attacks we compare with need only torch.
	$(BIN)/python -m pip install --quiet --no-deps "torchattacks==3.5.1"
	# pytorch-ood is the OOD detectors' reference in the tests; it declares torchvision too, and
	# its detector modules need only torch and scikit-learn (tests/suites/shift/ood/reference.py).
	$(BIN)/python -m pip install --quiet --no-deps "pytorch-ood==0.4.0"
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/harness run --report results/report

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=20 --numprocesses $(TEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check harness suites adapters zoo tests benchmarks
	$(BIN)/ruff format --check harness suites adapters zoo tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# build the sdist and wheel, twine-check them, install the wheel into a fresh venv and run it
# from an empty folder (.ci/package-check; about 1.5 min with a warm pip cache)
package-check: $(STAMP)
	PYTHON=$(BIN)/python TORCH="$(TORCH)" TORCH_INDEX="$(TORCH_INDEX)" .ci/package-check

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_accuracy_suite.py

clean:
	rm -rf $(VENV) results/runs
