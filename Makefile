# Two commands: `make run` and `make test`. Both create .venv and install the project first (which puts
# the `parley` command in .venv/bin).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

FAQ_DEV := ../shared/datasets/faq-dev

.PHONY: run test lint evals evals-faq-dev evals-baseline bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	PARLEY_DEMO=$${PARLEY_DEMO:-true} $(BIN)/parley serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Tests run in parallel processes (one per core), a file per process at a time.
TEST_WORKERS ?= auto

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The evals suite on the demo tenant with the local model, in its own fresh data dir; reports land in
# data/evals/. Exits non-zero when demo.gate.yaml fails: its thresholds, or a drop beyond its
# max_regression against the committed baseline run demo.baseline.json (CI runs it after `make test`).
evals: $(STAMP)
	rm -rf data/evals/demo-data
	PARLEY_DATA_DIR=data/evals/demo-data $(BIN)/parley evals run --demo --no-progress \
		--dataset evals/datasets/demo.yaml --gate evals/datasets/demo.gate.yaml \
		--baseline evals/datasets/demo.baseline.json --out data/evals
	@if [ -d $(FAQ_DEV) ]; then $(MAKE) --no-print-directory evals-faq-dev; \
	else echo "skipped the faq-dev evals: $(FAQ_DEV) (real third-party documents) is not on this machine"; fi

# The real-text development set, kept outside the repository: each company's documents in a tenant of
# their own, its cases and two-turn dialogues, gated by evals/datasets/faq-dev.gate.yaml.
# The set is copied first: its own check.py --split writes the per-company files next to itself, and
# ../shared is not ours to write to. Our own cases over its documents (evals/datasets/faq-dev-own*.yaml)
# join the copy, so its check.py verifies them too.
evals-faq-dev: $(STAMP)
	rm -rf data/evals/faq-dev-data data/evals/faq-dev-set
	mkdir -p data/evals && cp -r $(FAQ_DEV) data/evals/faq-dev-set && chmod -R u+w data/evals/faq-dev-set
	sed -n '/^cases:/,$$p' evals/datasets/faq-dev-own.yaml | tail -n +2 >> data/evals/faq-dev-set/cases.yaml
	sed -n '/^dialogues:/,$$p' evals/datasets/faq-dev-own-dialogues.yaml | tail -n +2 \
		>> data/evals/faq-dev-set/dialogues.yaml
	$(BIN)/python data/evals/faq-dev-set/check.py --split
	set -e; for company in zeabur ente; do \
		PARLEY_DATA_DIR=data/evals/faq-dev-data/$$company $(BIN)/parley evals run --no-progress \
			--new-tenant faq-dev-$$company --upload data/evals/faq-dev-set/$$company-*.md \
			--dataset data/evals/faq-dev-set/cases.$$company.yaml --gate evals/datasets/faq-dev.gate.yaml \
			--out data/evals; \
		PARLEY_DATA_DIR=data/evals/faq-dev-data/$$company $(BIN)/parley evals run --no-progress \
			--tenant faq-dev-$$company --dataset data/evals/faq-dev-set/dialogues.$$company.yaml \
			--gate evals/datasets/faq-dev-dialogues.gate.yaml --out data/evals; \
	done

# After an intended change to the demo knowledge, demo.yaml or the local model: a fresh run (no gate)
# becomes the committed baseline; then `make evals` checks its thresholds.
evals-baseline: $(STAMP)
	rm -rf data/evals/demo-data data/evals/baseline
	PARLEY_DATA_DIR=data/evals/demo-data $(BIN)/parley evals run --demo --no-progress \
		--dataset evals/datasets/demo.yaml --out data/evals/baseline
	cp data/evals/baseline/*.json evals/datasets/demo.baseline.json

bench: $(STAMP)
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/turn.py
	$(BIN)/python bench/import.py
	$(BIN)/python bench/job_claim.py
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/broadcast.py

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
