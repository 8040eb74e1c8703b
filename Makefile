# HyperFleet API — developer entry points. `make run` and `make test` are the front door.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
DEV_DB := scripts/dev-db.sh
BIN := target/release/hyperfleet
# Builds never need a database: queries are checked against the committed .sqlx/ data.
export SQLX_OFFLINE ?= true
# Integration tests are I/O bound; run more of them at once than there are cores.
TEST_THREADS ?= 6
FUZZ_SECONDS ?= 300

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_/-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

.PHONY: binary
binary: ## build the release binary (target/release/hyperfleet)
	$(CARGO) build --release --locked --bin hyperfleet

.PHONY: run
run: binary ## migrate and serve on a local database (DATABASE_URL, else 127.0.0.1:5432, else a private cluster), JWT off
	url="$$($(DEV_DB) url hyperfleet)"; \
	DATABASE_URL="$$url" $(BIN) migrate; \
	exec env DATABASE_URL="$$url" $(BIN) serve --enable-jwt=false

.PHONY: run-no-auth
run-no-auth: run ## alias of run

.PHONY: migrate
migrate: binary ## apply pending migrations to the development database
	DATABASE_URL="$$($(DEV_DB) url hyperfleet)" $(BIN) migrate

.PHONY: db/setup
db/setup: ## prepare the development and test databases and print their URLs
	@$(DEV_DB) url hyperfleet
	@$(DEV_DB) url hyperfleet_test

.PHONY: db/teardown
db/teardown: ## stop and delete the private PostgreSQL cluster under .dev/ (if one was made)
	$(DEV_DB) teardown

.PHONY: mq/setup
mq/setup: ## print the AMQP URL of a development RabbitMQ (BROKER_URL, else 127.0.0.1:5672, else a private node)
	@scripts/dev-mq.sh url

.PHONY: mq/teardown
mq/teardown: ## stop and delete the private RabbitMQ node under .dev/ (if one was made)
	scripts/dev-mq.sh teardown

.PHONY: test
test: ## run every test (unit + integration) against a real PostgreSQL and RabbitMQ
	export DATABASE_URL="$$($(DEV_DB) url hyperfleet_test)"; \
	export BROKER_URL="$$(scripts/dev-mq.sh url)"; \
	$(CARGO) test --locked --all-targets -- --test-threads=$(TEST_THREADS)

.PHONY: fmt
fmt: ## format the code
	$(CARGO) fmt --all

.PHONY: lint
lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

.PHONY: generate
generate: ## regenerate openapi/openapi.yaml from typespec/
	typespec/generate.sh

.PHONY: verify-openapi
verify-openapi: ## fail when openapi/openapi.yaml differs from what typespec/ generates
	typespec/verify.sh

.PHONY: test-contract
test-contract: ## schemathesis (all checks) against a server on a throw-away database; CONTRACT_ARGS="--seed 1"
	tests/contract/run.sh $(CONTRACT_ARGS)

.PHONY: test-ui
test-ui: ## Swagger UI in headless Chromium renders every operation (SKIPPED, with a message, without chromium)
	tests/ui/swagger-ui.sh

.PHONY: bench
bench: ## service vs pgbench on the same SQL: seed via the API, wrk per scenario (DURATION=15 CONNECTIONS=32); docs/benchmarks.md
	bench/run.sh

.PHONY: bench-scale
bench-scale: ## list/get latency at 1k..1M clusters seeded with SQL, and EXPLAIN of every list query (SIZES=..., DURATION=10)
	bench/scale.sh

.PHONY: sqlx-prepare
sqlx-prepare: ## refresh the committed .sqlx/ query data (a fresh database migrated with psql, then cargo check online)
	url="$$($(DEV_DB) url postgres)"; base="$${url%/*}"; \
	psql -X -q "$$url" -c "DROP DATABASE IF EXISTS hyperfleet_sqlx WITH (FORCE)" >/dev/null; \
	psql -X -q "$$url" -c "CREATE DATABASE hyperfleet_sqlx" >/dev/null; \
	for f in migrations/*.sql; do psql -X -q -v ON_ERROR_STOP=1 "$$base/hyperfleet_sqlx" -f "$$f" >/dev/null; done; \
	rm -rf .sqlx && mkdir -p .sqlx; \
	$(CARGO) clean -p hyperfleet; \
	SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$$PWD/.sqlx" DATABASE_URL="$$base/hyperfleet_sqlx" $(CARGO) check --all-targets --quiet

.PHONY: fuzz
fuzz: ## run every cargo-fuzz target FUZZ_SECONDS each (default 300); cargo-fuzz installed when missing
	scripts/fuzz.sh $(FUZZ_SECONDS)

.PHONY: fuzz-ci
fuzz-ci: ## the bounded fuzz run of CI: every target for 20 s
	scripts/fuzz.sh 20

.PHONY: audit
audit: ## cargo-deny: licenses, bans, sources; RustSec advisories when github.com is reachable
	scripts/audit.sh
