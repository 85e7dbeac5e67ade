# The two commands of the README:  make run  (main job)  and  make test  (the tests).
# make test-slow: the slow experiment tests (pytest -m slow) that make test skips; CI runs both.
# make lock: regenerate constraints.txt (the pinned versions the set-up installs) after a
#            dependency in pyproject.toml changed; LOCK_ARGS=--upgrade moves every pin.
VENV ?= .venv
OUT ?= out
PYTEST_ARGS ?=
# pytest-xdist workers (one per core of a 2-core machine); PYTEST_WORKERS=0 runs in one process.
# --dist loadfile keeps a test file in one worker (its module-level caches are shared).
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

.PHONY: run test test-slow test-all bench setup lock clean
setup:
	@bash scripts/bootstrap.sh

run: setup
	$(VENV)/bin/neurohebb demo --out $(OUT)

test: setup
	$(VENV)/bin/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	$(VENV)/bin/python -m pytest $(XDIST) -m slow $(PYTEST_ARGS)

test-all: setup
	$(VENV)/bin/python -m pytest $(XDIST) $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python benchmarks/run_all.py

lock:
	@LOCK_ARGS="$(LOCK_ARGS)" bash scripts/lock.sh

clean:
	rm -rf $(VENV) $(OUT)
