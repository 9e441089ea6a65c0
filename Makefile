# Two commands for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test bench install models clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH, or run: make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

HARSH_MODEL := pipeline/rulebooks/harsh_turns.json
HARSH_DATA  := $(wildcard tests/data/realstyle/calls.json tests/data/other_wording/calls.json \
                 tests/data/other_wording_2/calls.json tests/data/other_wording_3/calls.json \
                 tests/data/other_wording_4/calls.json tests/data/other_wording_7/calls.json \
                 tests/data/other_wording_8/calls.json tests/data/other_wording_9/calls.json \
                 tests/data/other_wording_10/calls.json tests/data/other_wording_11/calls.json \
                 tests/data/other_wording_12/calls.json tests/data/other_wording_13/calls.json \
                 tests/data/other_wording_14/calls.json tests/data/other_wording_15/calls.json \
                 tests/data/other_wording_16/calls.json tests/data/other_wording_18/calls.json \
                 tests/data/other_wording_19/calls.json tests/data/other_wording_20/calls.json \
                 tests/data/other_wording_21/calls.json tests/data/other_wording_22/calls.json \
                 tests/data/other_wording_23/calls.json tests/data/other_wording_25/calls.json \
                 tests/data/other_wording_26/calls.json tests/data/other_wording_27/calls.json \
                 tests/data/harsh_training_extra/*.jsonl)

## The harsh-turn model the default rulebook uses, trained from the labelled turns in tests/data (no downloads).
$(HARSH_MODEL): $(HARSH_DATA) pipeline/normalize.py pipeline/rules/turn_model.py callqa/cli.py | $(STAMP)
	$(BIN)/callqa train-harsh-model

## One model copy per machine: assembled into the per-user cache, models/whisper-base links to it.
models: install $(HARSH_MODEL)
	$(BIN)/callqa models whisper-base --link models/whisper-base

## Install, then run the nightly job once on the bundled demo calls; reports go to reports/.
demo: models
	$(BIN)/callqa run demo/calls

## Install, check the architecture contract (pyproject.toml), then run the whole test suite
## (real-model tests included).
test: models
	$(BIN)/lint-imports
	$(BIN)/pytest

## Accuracy/speed/memory on ../shared/eval (not part of CI; takes ~30-40 min on 2 cores).
bench: models
	$(BIN)/callqa bench --eval-dir ../shared/eval

clean:
	rm -rf $(VENV) reports/*/
	rm -rf models/whisper-base  # the link (or an old copy); the per-user cache stays for other checkouts
