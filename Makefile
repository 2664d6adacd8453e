# Two commands on a fresh machine: `make demo` and `make test`. Everything they need is installed
# into .venv by the `venv` target (pip → uv → the package with its dev extras).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo demo-batch test test-ray test-unit test-integration check format bench clean fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev,ray]'
	$(BIN)/python -m compileall -q switchman
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

demo-batch: $(STAMP)
	$(BIN)/python examples/batch_demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q tests -m "not ray"
	$(MAKE) test-ray

# The Ray tier runs inside a loopback-only network namespace: Ray swaps 127.0.0.1 for the machine's
# own address and probes public resolvers, and tests may talk to loopback only (docs/ray.md).
test-ray: $(STAMP)
	@if unshare --net true 2>/dev/null; then \
		unshare --net sh -c 'ip link set lo up && $(BIN)/python -m pytest -q -m ray tests/ray'; \
	else \
		echo "SKIPPED the Ray tests: unshare --net is not available (needs root or user namespaces)"; \
	fi

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

# The API fuzz run of `make test`, with many more examples per operation (a few minutes).
fuzz: $(STAMP)
	SWITCHMAN_FUZZ_EXAMPLES=$${SWITCHMAN_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -q tests/integration/test_api_fuzz.py

check: $(STAMP)
	$(BIN)/ruff format --check switchman tests bench examples
	$(BIN)/ruff check switchman tests bench examples
	$(BIN)/mypy switchman

format: $(STAMP)
	$(BIN)/ruff format switchman tests bench examples
	$(BIN)/ruff check --fix switchman tests bench examples

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
