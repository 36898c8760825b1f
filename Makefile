# Bazaar's commands. The two ways in are `make run` and `make test`.

CARGO ?= cargo
BAZAAR_ADDR ?= 127.0.0.1:8080
# cargo-nextest when present (one process per test, a clear summary line), else cargo test.
TEST_CMD := $(shell $(CARGO) nextest --version >/dev/null 2>&1 \
	&& echo "nextest run --workspace --all-targets --no-fail-fast" \
	|| echo "test --workspace --all-targets --no-fail-fast")
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --yes @redocly/cli@2.11.1

.PHONY: pincodes pincodes-check run test openapi postman lint lint-contract fmt build clean bench contract-diff contract-gate contract-release api-guide config-docs mutants

## Serve the API on the embedded default (no database needed).
run:
	$(CARGO) build --bin bazaar
	@echo "Bazaar on http://$(BAZAAR_ADDR)"
	@echo "  API      http://$(BAZAAR_ADDR)/api/v1/products"
	@echo "  Docs     http://$(BAZAAR_ADDR)/docs"
	@echo "  Metrics  http://$(BAZAAR_ADDR)/metrics"
	BAZAAR_ADDR=$(BAZAAR_ADDR) ./target/debug/bazaar serve

## The contract gate, then every test with MongoDB-wire, Redis, a Redis Cluster and S3 (started
## if needed), then the contract suites in the development and the production profile.
test: contract-gate
	python3 tests/support/services.py -- sh -c '$(CARGO) $(TEST_CMD) && python3 tests/contract/run.py'

## Fail on a change that breaks the last released contract (the newest v* tag, else
## openapi/released/openapi.yaml) unless info.version's major was stepped; first prove the
## gate refuses a doctored break.
contract-gate:
	python3 tests/contract/gate.py --self-test
	python3 tests/contract/gate.py

## At a release: the current contract becomes the baseline the gate compares with (until the
## first v* tag, which then takes over).
contract-release:
	cp openapi/openapi.yaml openapi/released/openapi.yaml

## Benchmark the release build with wrk against MongoDB-wire and Redis servers and write
## docs/benchmarks.md (BENCH_SECONDS=10 per scenario).
bench:
	python3 tests/support/services.py --no-s3 -- python3 tests/bench/run.py

## Mutation testing (cargo-mutants, configured in .cargo/mutants.toml) of the domain rules,
## the signatures and idempotency; MUTANTS_FILES narrows it (e.g. `-f src/domain/money.rs`).
## Hours for the whole set on two cores: not in CI. Survivors go in docs/testing.md.
MUTANTS_VERSION := 27.1.0
MUTANTS_FILES ?= -f 'src/domain/**/*.rs' -f adapters/src/razorpay/signature.rs \
	-f src/app/idempotency.rs -f src/http/idempotency/mod.rs -f src/http/idempotency/declared.rs
mutants:
	@$(CARGO) mutants --version 2>/dev/null | grep -q "$(MUTANTS_VERSION)" \
		|| $(CARGO) install --locked cargo-mutants --version $(MUTANTS_VERSION)
	python3 tests/support/services.py --no-s3 -- $(CARGO) mutants --workspace --output target/mutants $(MUTANTS_FILES)

## List what breaks generated clients between the contract at BASE (a git ref) and now.
contract-diff:
	@test -n "$(BASE)" || { echo "usage: make contract-diff BASE=<git ref>"; exit 2; }
	@git show "$(BASE):openapi/openapi.yaml" > target/contract-base.yaml
	$(CARGO) run --quiet --bin bazaar-contract-diff -- target/contract-base.yaml openapi/openapi.yaml

## Rewrite the error-code table of docs/api-guide.md from the code.
api-guide:
	BAZAAR_UPDATE_DOCS=1 $(CARGO) test --quiet --test it contract::the_api_guide_lists_every_error_code

## Rewrite the settings table of docs/configuration.md from the code (config::SETTINGS).
config-docs:
	BAZAAR_UPDATE_DOCS=1 $(CARGO) test --quiet --test it contract::the_configuration_doc_lists_every_setting_as_the_code_defines_it

## Regenerate the committed contract from the code.
openapi:
	$(CARGO) run --quiet --bin bazaar -- openapi --format yaml > openapi/openapi.yaml.tmp
	mv openapi/openapi.yaml.tmp openapi/openapi.yaml

## Regenerate the Postman collection and environment (postman/) from the committed contract.
postman:
	cd postman && npm ci --no-audit --no-fund && node generate.js

## rustfmt, clippy (warnings are errors) and the contract linter.
lint: lint-contract
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

lint-contract:
	$(REDOCLY) lint --config openapi/redocly.yaml openapi/openapi.yaml

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace --all-targets

clean:
	$(CARGO) clean

## Regenerate src/domain/pincode/pincodes.tsv from the pinned India Post directory (bharatpin on
## PyPI); `make pincodes-check` only compares.
pincodes:
	python3 src/domain/pincode/refresh.py

pincodes-check:
	python3 src/domain/pincode/refresh.py --check
