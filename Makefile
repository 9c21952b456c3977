# SMAT Bot: `make demo` runs the main job on the embedded defaults; `make test` runs the tests.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test lint clean

install: $(INSTALLED)

# torch is installed first and pinned to the CPU build; any other version would pull
# gigabytes of CUDA packages. Detoxify then finds its torch requirement already met.
$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(INSTALLED)
	$(BIN)/smat-bot import examples/council-comments.csv

test: $(INSTALLED)
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) smat-bot.db smat-bot.db-wal smat-bot.db-shm .pytest_cache .mypy_cache .ruff_cache
