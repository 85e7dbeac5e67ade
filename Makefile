# The two commands of the README:  make run  (main job)  and  make test  (the tests).
VENV ?= .venv
OUT ?= out

.PHONY: run test bench setup clean
setup:
	@bash scripts/bootstrap.sh

run: setup
	$(VENV)/bin/neurohebb demo --out $(OUT)

test: setup
	$(VENV)/bin/python -m pytest

bench: setup
	$(VENV)/bin/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT)
