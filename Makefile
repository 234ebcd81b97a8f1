# tokentrace — `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DIR := $(CURDIR)/.tokentrace-demo
export CARGO_TERM_COLOR ?= never

.PHONY: help
help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the core, the CLI and the test receiver
	$(CARGO) build --workspace --all-targets

$(VENV)/.ready: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r tests/requirements.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.ready ## create the Python venv with the test requirements

.PHONY: demo
demo: ## a Python RAG agent (real openai client, fake LLM server) into the local store, then the CLI
	$(MAKE) -C bindings-python demo

.PHONY: demo-rust
demo-rust: ## the same kind of workflow recorded from Rust, then shown with the CLI
	rm -rf $(DEMO_DIR)
	$(CARGO) build -q -p tokentrace-cli -p tokentrace-core --examples --bins
	TOKENTRACE_DIR=$(DEMO_DIR) $(CARGO) run -q -p tokentrace-core --example agent_workflow
	@echo; echo '$$ tokentrace view'; TOKENTRACE_DIR=$(DEMO_DIR) target/debug/tokentrace view
	@echo; echo '$$ tokentrace view <trace id>'; TOKENTRACE_DIR=$(DEMO_DIR) target/debug/tokentrace view $$(TOKENTRACE_DIR=$(DEMO_DIR) target/debug/tokentrace view | awk '/^trace /{print $$2; exit}')
	@echo; echo '$$ tokentrace stats'; TOKENTRACE_DIR=$(DEMO_DIR) target/debug/tokentrace stats

.PHONY: lint
lint: $(VENV)/.ready ## rustfmt, clippy (warnings are errors) and ruff
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -q -- -D warnings
	$(VENV)/bin/ruff check bindings-python tests/fake-llm tests/e2e bench/python bench/pipeline_ab.py

.PHONY: test-rust
test-rust: ## Rust unit and integration tests
	$(CARGO) test --workspace -q

.PHONY: test-fake-llm
test-fake-llm: $(VENV)/.ready ## the fake LLM server against the real openai/anthropic clients
	$(PY) -m pytest -q tests/fake-llm

.PHONY: test-python
test-python: ## build the wheel as a user installs it; pytest with the newest and older openai/anthropic
	$(MAKE) -C bindings-python test

.PHONY: test
test: lint test-rust test-fake-llm test-python test-phoenix ## every test, all languages
	@echo "make test: all suites passed"

.PHONY: bench
bench: ## benchmarks: tokentrace vs opentelemetry_sdk + otlp (several minutes; see bench/README.md; Python SDKs: make bench-python)
	$(CARGO) bench -p tokentrace-core --bench hot_path
	$(CARGO) bench -p tokentrace-core --bench pipeline
	$(CARGO) bench -p tokentrace-core --bench memory
	$(CARGO) bench -p tokentrace-core --bench policies

BENCH_VENV := .venv-bench
BENCH_ARGS ?=
BENCH_WHEEL ?=

$(BENCH_VENV)/.ready: bench/python/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -r bench/python/requirements.txt
	touch $@

.PHONY: bench-wheel
bench-wheel: $(BENCH_VENV)/.ready
	wheel="$(BENCH_WHEEL)"; if [ -z "$$wheel" ]; then $(MAKE) -C bindings-python wheel && wheel=$$(ls target/wheels/python/tokentrace-*.whl); fi; \
	  $(BENCH_VENV)/bin/python -m pip install -q --force-reinstall --no-deps "$$wheel"

.PHONY: bench-python
bench-python: bench-wheel ## Python: tokentrace vs OTel openai-v2, OpenLLMetry, Langfuse (~10 min; BENCH_ARGS=--quick, BENCH_WHEEL=path skips the wheel build)
	$(CARGO) build --release -q -p tokentrace-fake-otlp
	cd bench/python && ../../$(BENCH_VENV)/bin/python run.py $(BENCH_ARGS)

.PHONY: bench-python-instructions
bench-python-instructions: bench-wheel ## Python: instructions per call on the calling thread (callgrind), tokentrace vs peers (~15 min)
	cd bench/python && ../../$(BENCH_VENV)/bin/python instructions.py $(BENCH_ARGS)

.PHONY: clean
clean: ## remove build outputs and venvs
	rm -rf target $(VENV) $(DEMO_DIR) .venv-phoenix .venv-older $(BENCH_VENV)

PHOENIX_VENV := .venv-phoenix

$(PHOENIX_VENV)/.ready: tests/e2e/phoenix/requirements.txt tests/e2e/phoenix/constraints.txt
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip install -q --upgrade pip
	$(PHOENIX_VENV)/bin/python -m pip install -q -r tests/e2e/phoenix/requirements.txt -c tests/e2e/phoenix/constraints.txt
	touch $@

.PHONY: test-phoenix
test-phoenix: $(PHOENIX_VENV)/.ready ## tokentrace against a real Arize Phoenix (OTLP HTTP + gRPC)
	$(CARGO) build -q -p tokentrace-core --examples
	$(PHOENIX_VENV)/bin/python -m pytest -q tests/e2e/phoenix
