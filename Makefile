# The README's two commands:  make run  (set up + default job)  and  make test  (set up + tests).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-scale calibrations install clean

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
	$(BIN)/python benchmarks/default_run.py
	$(BIN)/python benchmarks/default_run.py --samples 1000000 --cold 1 --warm 2

# How time and memory grow with satellites, stations, hours and samples (long: ~10 min);
# writes benchmarks/results/scale.csv and scale.png.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py

# The bundled scenarios' compression calibrations (models/calibrations/): after changing
# the compression code or the bundled images (tests/test_bundled_calibrations.py says when).
calibrations: $(STAMP)
	$(BIN)/python -m simulator.policies.bundled_calibrations

clean:
	rm -rf $(VENV) results
