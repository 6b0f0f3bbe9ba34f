# embedlab: `make reports` (install + default profile) and `make test` (install + whole test suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
KERNEL := embedlab
STAMP  := $(VENV)/.embedlab-installed
LOCK   := requirements.lock
JOBS   ?= 1
# where torch comes from: empty = the package index (PyPI: on Linux the CUDA build, with its nvidia-* packages);
# e.g. TORCH_INDEX=https://download.pytorch.org/whl/cpu for the CPU-only build of the same version
TORCH_INDEX ?=
UV     ?= uv
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install kernel lock reports smoke paper test unit lab clean-reports
.DEFAULT_GOAL := reports

# Every package at the version $(LOCK) pins (a constraints file: what a platform does not need is skipped).
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"embedlab needs Python 3.11, this is {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
ifneq ($(strip $(TORCH_INDEX)),)
	$(BIN)/python -m pip install --quiet --no-deps --index-url $(TORCH_INDEX) -c $(LOCK) torch
endif
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[dev,dask]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (embedlab)"
	cp $(LOCK) $(VENV)/$(LOCK)
	touch $(STAMP)

install: $(STAMP)

# Pin the whole environment again (after a change of pyproject.toml): needs uv (`pip install uv`); versions
# already in $(LOCK) are kept where they still fit.
lock:
	$(UV) pip compile pyproject.toml --extra dev --extra dask --universal --python-version 3.11 -o $(LOCK) \
		--custom-compile-command "make lock"

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
