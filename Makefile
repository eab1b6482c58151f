# Multi-Task Learning for AI Shopping Guides: build, test and run the course.
# GNU make. Needs only a Python 3.11 on PATH (as python3, or say `make PYTHON=python3.11`).
# `make` alone lists the targets.

PYTHON        ?= python3
VENV          := .venv
VENV_BIN      := $(VENV)/bin
VENV_PY       := $(VENV_BIN)/python
PIP_VERSION   := 26.3
LOCK          := requirements-lock.txt
DEP_FILES     := pyproject.toml $(LOCK)
NOTEBOOK_DIR  := notebooks
SOLUTION_DIR  := solutions
BUILD_DIR     := build
SANITIZE      := tests/nbval_sanitize.cfg
# `make setup TORCH=cpu` (Linux): install PyTorch's CPU-only build from PyTorch's own wheel index
# (download.pytorch.org) instead of PyPI's default Linux build, which is the CUDA one (several GB).
TORCH         ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
# `make course TIMEOUT=1200`: seconds a single cell may run before the runner stops it (slow laptops).
TIMEOUT       ?= 600
# Every notebook, lessons first; a folder with none adds nothing (no literal '*.ipynb').
# (git keeps no empty folders, so a fresh clone may lack notebooks/ or solutions/ too:
# `make test` passes pytest only the folders that exist.)
NOTEBOOKS      = $(sort $(wildcard $(NOTEBOOK_DIR)/*.ipynb)) $(sort $(wildcard $(SOLUTION_DIR)/*.ipynb))

# The install is redone only when the dependency files change: the stamp's name carries
# the sha256 of their contents (hashed with $(PYTHON), so no sha256sum/shasum needed).
# A missing interpreter (e.g. PYTHON=python9) stops here with one clear message.
ifeq ($(shell command -v $(PYTHON) 2>/dev/null),)
$(error PYTHON=$(PYTHON) was not found on PATH; install Python 3.11 or run e.g. `make <target> PYTHON=python3.11`)
endif
ifneq ($(filter-out cpu,$(TORCH)),)
$(error TORCH=$(TORCH) is not understood; say TORCH=cpu (PyTorch's CPU-only build, Linux) or leave TORCH out)
endif
TORCH_PIN     := $(shell grep -E '^torch==' $(LOCK))
TORCH_CPU     := $(if $(filter cpu,$(TORCH)),$(if $(filter Linux,$(shell uname -s)),linux,other))
DEP_HASH      := $(shell $(PYTHON) -c "import hashlib,sys; h=hashlib.sha256(); [h.update(open(f,'rb').read()) for f in sys.argv[1:]]; print(h.hexdigest()[:16])" $(DEP_FILES))
STAMP         := $(VENV)/.installed-$(DEP_HASH)$(if $(TORCH_CPU),-cpu)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help setup course test unit lab refresh data bench serve site clean

help: ## list the targets
	@echo "Multi-Task Learning for AI Shopping Guides: make targets"
	@grep -E '^[a-z]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -E 's/^([a-z]+):.*## /  make \1\t/' | expand -t 16
	@echo "Python used to create $(VENV): PYTHON=$(PYTHON) (must be 3.11)"

setup: $(STAMP) ## create .venv (if missing) and install the locked dependencies (if changed)

$(STAMP):
	@if [ -x $(VENV_PY) ] && ! $(VENV_PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
	  echo "error: $(VENV) was made with another Python ($$($(VENV_PY) -V 2>&1)); remove it (rm -rf $(VENV)) and run make again" >&2; exit 1; \
	fi
	@if [ ! -x $(VENV_PY) ]; then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	    || { echo "error: $(PYTHON) is not Python 3.11; run e.g. make $(MAKECMDGOALS) PYTHON=python3.11" >&2; exit 1; }; \
	  echo "creating $(VENV) with $(PYTHON)"; \
	  $(PYTHON) -m venv $(VENV) && $(VENV_PY) -m pip install -q pip==$(PIP_VERSION); \
	fi
	@echo "installing $(LOCK) and mtl_lessons (editable) into $(VENV)"
	@rm -f $(VENV)/.installed-*
ifeq ($(TORCH_CPU),linux)
	$(VENV_PY) -m pip install -q $(TORCH_PIN)+cpu --index-url $(TORCH_CPU_INDEX)
else ifeq ($(TORCH_CPU),other)
	@echo "TORCH=cpu changes nothing here: outside Linux, PyPI's torch is already the CPU-only build"
endif
	$(VENV_PY) -m pip install -q -r $(LOCK)
	$(VENV_PY) -m pip install -qq --no-deps -e .
	@touch $@ $(if $(TORCH_CPU),$(VENV)/.installed-$(DEP_HASH))

course: setup ## execute every notebook headless into build/ (sources untouched)
	$(VENV_PY) -m mtl_lessons.run_notebooks --timeout $(TIMEOUT) --out $(BUILD_DIR) $(NOTEBOOKS)

test: setup ## run all tests: unit tests, notebook hygiene, and every notebook under nbval
	$(VENV_PY) -m pytest $(wildcard tests $(NOTEBOOK_DIR) $(SOLUTION_DIR)) --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE) -q

unit: setup ## run the unit tests only (no notebook is executed; a few minutes)
	$(VENV_PY) -m pytest tests -q

lab: setup ## start JupyterLab from .venv
	@echo "The notebooks run in the kernel \"Python 3 (ipykernel)\": started from .venv, it is .venv's own Python."
	$(VENV_BIN)/jupyter lab $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root,)

refresh: setup ## maintainers: re-execute notebooks in place to update their committed outputs
	$(VENV_PY) -m mtl_lessons.run_notebooks --timeout $(TIMEOUT) --inplace $(NOTEBOOKS)

data: setup ## regenerate datasets/ (the shop and its target domain in datasets/target/) from the simulator
	$(VENV_PY) -m mtl_lessons.data

bench: setup ## print samples per second of train for each architecture in both frameworks
	$(VENV_PY) -m mtl_lessons.bench

# `make serve MODEL=build/serving/model.onnx`: serve that exported model (.pt2, .onnx or a SavedModel folder);
# without MODEL, build/serving/shared_bottom.pt2 (lesson 03's shared-bottom model, trained and exported once if missing).
serve: setup ## start lesson 10's ranking service (FastAPI, uvicorn) on http://127.0.0.1:8000
	$(VENV_PY) -m mtl_lessons.serve$(if $(MODEL), --model $(MODEL))

site: setup ## build the course website (lessons, solutions, data card, glossary) into build/site, offline
	$(VENV_PY) -m mtl_lessons.site --out $(BUILD_DIR)/site

clean: ## remove build/
	rm -rf $(BUILD_DIR)
