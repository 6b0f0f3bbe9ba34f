# embedlab: `make reports` (install + default profile) and `make test` (install + whole test suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KERNEL := embedlab
STAMP  := $(VENV)/.embedlab-installed
JOBS   ?= 1
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install kernel reports smoke paper test unit lab clean-reports
.DEFAULT_GOAL := reports

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"embedlab needs Python 3.11, this is {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: a bare `torch` would pull a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (embedlab)"
	touch $(STAMP)

install: $(STAMP)

kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (embedlab)"

reports: install
	$(BIN)/embedlab run --profile default --jobs $(JOBS)

smoke: install
	$(BIN)/embedlab run --profile smoke --jobs $(JOBS)

paper: install
	$(BIN)/embedlab run --profile paper --jobs $(JOBS)

test: install
	rm -rf build/nbval
	$(BIN)/embedlab notebooks prepare --profile smoke --out build/nbval
	$(BIN)/python -m pytest tests build/nbval --nbval-lax --nbval-kernel-name $(KERNEL) -p no:cacheprovider

unit: install
	$(BIN)/python -m pytest tests -m "not slow"

lab: install
	$(BIN)/jupyter lab notebooks/

clean-reports:
	rm -rf reports/*/
