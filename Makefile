# Two commands set up and run everything on a fresh machine:
#   make demo   trains, evaluates, plots and exports on a bundled dataset
#   make test   runs the whole test suite (TensorFlow backend, then JAX for the cells)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= demo_output

.PHONY: demo test benchmark clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ray,markets,fields]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/tsgate demo --output $(OUT)

test: $(VENV)/.installed
	$(PY) -m pytest -n 2 -q
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 -q tests/cells

benchmark: $(VENV)/.installed
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(OUT)
