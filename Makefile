# Everything runs from a virtual environment in .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
INDEX  ?= index
Q      ?= 2025年铜仁市发放了多少职工医疗互助金？

.PHONY: install run test lint browsers clean-index

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch is pinned first: the CPU build on disk, never the multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

$(INDEX)/CURRENT: | $(VENV)/.installed
	$(BIN)/rag ingest seeds --index $(INDEX)

# The main job: answer a question over the seeds (the index is built on first run).
run: $(VENV)/.installed $(INDEX)/CURRENT
	$(BIN)/rag ask "$(Q)" --index $(INDEX)

lint: $(VENV)/.installed
	$(BIN)/ruff check rag eval tests
	$(BIN)/mypy

# The whole suite, slow and browser tests included.
test: $(VENV)/.installed
	$(BIN)/ruff check rag eval tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

clean-index:
	rm -rf $(INDEX)/CURRENT $(INDEX)/v-* $(INDEX)/tmp-*
