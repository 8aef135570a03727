# The two set-up commands of the README.
#   make demo   install, record a scripted demonstration session, show and export it
#   make test   install what the tests need, then run the whole suite on 4 workers (pytest-xdist;
#               the end-to-end tests wait on shells and daemons); pytest -m "not slow" skips those
.PHONY: demo test lint bench

demo:
	bash scripts/install-deps.sh demo
	python3 scripts/demo.py

test:
	bash scripts/install-deps.sh test
	python3 -m pytest -q -n 4

lint:
	ruff check . && ruff format --check .

bench:
	python3 benchmarks/cli_startup_bench.py
	python3 benchmarks/ingest_bench.py
