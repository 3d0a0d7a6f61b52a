# Everything runs from a virtual environment in .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
INDEX  ?= index
HOST   ?= 127.0.0.1
PORT   ?= 7860
Q      ?=

.PHONY: install run ask test lint browsers clean-index

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
	@echo "rag: building the index from seeds/ (first run only)…"
	$(BIN)/rag ingest seeds --index $(INDEX)

# The main job: the chat page and the OpenAI-compatible API (the index is built on first run).
run: $(VENV)/.installed $(INDEX)/CURRENT
	$(BIN)/rag serve --index $(INDEX) --host $(HOST) --port $(PORT)

# One question in the terminal: make ask Q="拉萨全市建立了多少个基层工会组织？"
ask: $(VENV)/.installed $(INDEX)/CURRENT
	$(BIN)/rag ask "$(or $(Q),2025年铜仁市发放了多少职工医疗互助金？)" --index $(INDEX)

# Debian's Chromium and CJK fonts for the browser tests (never `playwright install`).
browsers:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi
	@/usr/bin/chromium --version 2>/dev/null

lint: $(VENV)/.installed
	$(BIN)/ruff check rag ui eval tests
	$(BIN)/mypy

# The whole suite, slow and browser tests included.
test: $(VENV)/.installed browsers
	$(BIN)/ruff check rag ui eval tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

clean-index:
	rm -rf $(INDEX)/CURRENT $(INDEX)/v-* $(INDEX)/tmp-*
