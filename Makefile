# The README's two commands:  make run  (set up + default job)  and  make test  (set up + tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench install clean

# PYTHONWARNINGS hides setuptools' 10-line notice on every editable install ("Editable
# installation. Please be careful with folders ... same name as your package"), the one
# thing a quiet install still printed; real build warnings still show.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' \
		$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/spaceverse run scenarios/default.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/contacts.py
	$(BIN)/python benchmarks/simulate.py
	$(BIN)/python benchmarks/sweep.py

clean:
	rm -rf $(VENV) results
