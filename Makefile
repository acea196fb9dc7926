# micae: `make demo` runs the whole job on the embedded default data, `make test` runs the tests.
# Both create/refresh .venv and install the pinned stack and the apt packages they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.micae-installed
APT_PACKAGES := g++ iverilog yosys
NAME   ?= econt
# extra micae synth options of the demo; its settings (place and route on a Lattice Nexus LIFCL-40-9 at 100 MHz)
# live in the synth: block of models/$(NAME).yaml, so `micae synth --model models/econt` reproduces it
SYNTH_FLAGS ?=
# pytest-xdist workers; one test file stays on one worker (--dist loadfile), so module fixtures are built once
TEST_WORKERS ?= 2

# HGQ 0.2.6 (the HGQ front end; Keras 2 generation) requires the `tensorflow` distribution, which would install beside
# the pinned tensorflow-cpu into the same package: --no-deps (its other needs, numpy and keras<3, are pinned here), so
# `pip check` reports "hgq 0.2.6 requires tensorflow, which is not installed" -- expected, tensorflow-cpu provides it
HGQ_INSTALL = $(PY) -m pip install -q --no-deps -c constraints.txt HGQ==0.2.6

.PHONY: demo test test-fast lint deps venv sweep findings bench report clean

# apt packages only when a tool is missing (root, or sudo when available)
deps:
	@missing=""; \
	command -v g++ >/dev/null || missing="$$missing g++"; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	command -v yosys >/dev/null || missing="$$missing yosys"; \
	if [ -n "$$missing" ]; then \
	  echo "installing apt packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "apt packages present: $(APT_PACKAGES)"; fi

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=23"
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	$(HGQ_INSTALL)
	@touch $(STAMP)

venv: $(STAMP)

# da4ml's numba kernels compile once per environment (~2 min, micae/rtl/warm.py): beside training, not inside synth
demo: deps venv
	@$(PY) -m micae.rtl.warm & warm=$$!; \
	$(PY) scripts/train_qat.py --config models/$(NAME).yaml --force; rc=$$?; \
	wait $$warm; exit $$rc
	$(PY) scripts/synthesize.py --model models/$(NAME) --force $(SYNTH_FLAGS)

lint: venv
	$(VENV)/bin/ruff check src tests scripts bench
	$(VENV)/bin/ruff format --check src tests scripts bench
	$(VENV)/bin/mypy

test: deps venv lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

test-fast: deps venv
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

sweep: deps venv
	$(PY) scripts/sweep.py --config sweeps/latent_size.yaml

# the MICAE findings study (findings/micae_findings.yaml) -> findings/micae_findings/findings.html; FINDINGS_FLAGS=--force to redo
findings: deps venv
	$(PY) -m micae findings --config findings/micae_findings.yaml $(FINDINGS_FLAGS)

bench: deps venv
	@test -f models/$(NAME)/encoder.h5 || $(PY) scripts/train_qat.py --config models/$(NAME).yaml
	$(PY) bench/bench_rtl.py --model models/$(NAME) --part xcvu9p-flga2104-2L-e
	$(PY) bench/bench_rtl.py --seeds 0 1 2 --part xcvu9p-flga2104-2L-e
	$(PY) bench/bench_data.py

clean:
	rm -rf hls/*/ firmware/*/ models/*/ sweeps/*/ findings/*/ .pytest_cache
