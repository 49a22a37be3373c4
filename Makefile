# AuthService — the commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8080
TEST_PG_PORT ?= 25432
CONFIG ?= Debug

.PHONY: help build run run-smoke migrate rotate-keys test contract openapi clean portal portal-deps e2e lint-openapi portal-typecheck
PORTAL_PORT ?= 3000
REDOCLY_VERSION ?= 2.77.0
CHROMIUM ?= /usr/bin/chromium

help:
	@echo "make run      start a local PostgreSQL under .data/ and serve http://localhost:$(PORT)"
	@echo "make test     start a throwaway PostgreSQL and run the whole test suite"
	@echo "make run-smoke  \`make run\` started on SMOKE_PORT (18097), checked ready and its admin key accepted, stopped"
	@echo "make test-pgbouncer  the whole suite through PgBouncer (transaction pooling)"
	@echo "make ha-test  Patroni primary + synchronous standby, 3 instances under load, kill the primary, one table"
	@echo "make build    compile everything"
	@echo "make migrate  apply database migrations (to ConnectionStrings__Auth with your own Encryption__*, or the local cluster)"
	@echo "make rotate-keys  re-seal stored secrets under Encryption:ActiveKeyId (an exported value wins over .data/dev.env's)"
	@echo "make bench    benchmarks (bench/README.md); make bench-smoke: a seconds-long pipeline check"
	@echo "make soak     SOAK_MINUTES (default 20) of verify at half of saturation, durable PostgreSQL (.data/soak/report.md)"
	@echo "make profile  one verify round under dotnet-trace and pg_stat_statements (.data/profile/)"
	@echo "make openapi  regenerate openapi.yaml from the running code"
	@echo "make contract check the Telnyx requests against the spec (Prism)"
	@echo "make portal   serve the sample portal on http://localhost:$(PORTAL_PORT) against \`make run\`'s service"
	@echo "make e2e      end-to-end test: sample portal and Swagger UI in headless Chromium"
	@echo "make e2e-console  the support console (/console) walked in headless Chromium; screenshots in docs/console/"
	@echo "make portal-typecheck  type-check the sample portal's server against openapi.yaml (openapi-typescript + tsc)"
	@echo "make lint-openapi  lint openapi.yaml with Redocly CLI ($(REDOCLY_VERSION), recommended rules)"
	@echo "make bench-pgbouncer  verify through PgBouncer against direct, same run (docs/SCALING.md)"
	@echo "make clean    stop and delete every local cluster and PgBouncer, and .data, bin, obj"

build:
	dotnet build AuthService.sln -c $(CONFIG)

run: build
	@source scripts/dev-env.sh && \
	echo "" && \
	echo "  AuthService on http://localhost:$(PORT)  (Swagger UI: http://localhost:$(PORT)/swagger)" && \
	echo "  Admin API key: $$Auth__BootstrapAdminKey" && \
	echo "" && \
	dotnet run --no-build -c $(CONFIG) --project AuthService.Api --no-launch-profile -- --urls http://localhost:$(PORT)

# `make run` checked as a newcomer runs it (CI): starts, is ready, accepts the admin key it prints, stops.
run-smoke: build
	@scripts/run-smoke.sh

migrate: build
	@source scripts/dev-env.sh && dotnet run --no-build -c $(CONFIG) --project AuthService.Api --no-launch-profile -- migrate

# After adding a key to Encryption:Keys and making it active: re-seal every stored secret under it.
rotate-keys: build
	@source scripts/dev-env.sh && dotnet run --no-build -c $(CONFIG) --project AuthService.Api --no-launch-profile -- rotate-keys

# A fresh cluster every run: tests never see data of an earlier run.
test: build
	@scripts/pg.sh destroy test || exit 1; \
	conn=$$(scripts/pg.sh start test $(TEST_PG_PORT)) || exit 1; \
	AUTHSERVICE_TEST_DB="$$conn" dotnet test AuthService.Tests --no-build -c $(CONFIG) \
	  --filter "Category!=TelnyxContract" --logger "console;verbosity=normal" 2>&1 | tee .data/test.log | grep -vE '^\s+Passed ' ; \
	status=$${PIPESTATUS[0]}; scripts/pg.sh stop test; \
	scripts/test-summary.sh .data/test.log tests; \
	[ $$status -eq 0 ] || exit $$status
	@$(MAKE) --no-print-directory contract
	@$(MAKE) --no-print-directory portal-typecheck

# The whole suite again, every connection through PgBouncer (Debian's package, installed when missing) in transaction
# pooling mode, with the service in Database:Pooler=pgbouncer (docs/SCALING.md).
TEST_PGB_PG_PORT ?= 26432
PGBOUNCER_PORT ?= 26433
.PHONY: test-pgbouncer ha-test
test-pgbouncer: build
	@scripts/pg.sh destroy test-pgb || exit 1; \
	conn=$$(scripts/pg.sh start test-pgb $(TEST_PGB_PG_PORT)) || exit 1; \
	backend=$$(echo "$$conn" | sed -n 's/.*Port=\([0-9]*\).*/\1/p'); \
	pgb=$$(scripts/pgbouncer.sh start pgbouncer-test $(PGBOUNCER_PORT) $$backend) || { scripts/pg.sh stop test-pgb; exit 1; }; \
	echo "test-pgbouncer: PgBouncer on $$(echo "$$pgb" | sed -n 's/.*Port=\([0-9]*\).*/\1/p') (transaction pooling) -> PostgreSQL on $$backend"; \
	AUTHSERVICE_TEST_DB="$$pgb" AUTHSERVICE_TEST_POOLER=pgbouncer dotnet test AuthService.Tests --no-build -c $(CONFIG) \
	  --filter "Category!=TelnyxContract" --logger "console;verbosity=normal" 2>&1 | tee .data/test-pgbouncer.log | grep -vE '^\s+Passed ' ; \
	status=$${PIPESTATUS[0]}; scripts/pgbouncer.sh stop pgbouncer-test; scripts/pg.sh stop test-pgb; \
	scripts/test-summary.sh .data/test-pgbouncer.log "tests through pgbouncer"; \
	[ $$status -eq 0 ] || exit $$status

contract:
	@bash scripts/telnyx-contract.sh

# Fails when the tests fail (their output is shown then), and stops the cluster it started either way. A cluster of its
# own: `make test` destroys the `test` one as it starts, and this target's stop would end a suite running beside it.
OPENAPI_PG_PORT ?= 25436
openapi: build
	@conn=$$(scripts/pg.sh start openapi $(OPENAPI_PG_PORT)) && \
	AUTHSERVICE_TEST_DB="$$conn" UPDATE_OPENAPI=1 dotnet test AuthService.Tests --no-build -c $(CONFIG) --filter "FullyQualifiedName~OpenApiContractTests" > .data/openapi.log 2>&1; \
	status=$$?; scripts/pg.sh stop openapi >/dev/null 2>&1 || true; \
	if [ $$status -ne 0 ]; then cat .data/openapi.log; echo "openapi: the contract tests failed; openapi.yaml may be stale" >&2; exit $$status; fi; \
	git diff --stat openapi.yaml

# The sample portal against the service `make run` serves (start that first, in another terminal).
# The key defaults to the development admin key `make run` prints (.data/dev.env).
portal: portal-deps
	@if [ -z "$${AUTHSERVICE_API_KEY:-}" ]; then \
	  [ -f .data/dev.env ] || { echo "No .data/dev.env: start \`make run\` first, or set AUTHSERVICE_API_KEY." >&2; exit 1; }; \
	  export AUTHSERVICE_API_KEY=$$(sed -n 's/^Auth__BootstrapAdminKey=//p' .data/dev.env); \
	fi; \
	AUTHSERVICE_URL=$${AUTHSERVICE_URL:-http://localhost:$(PORT)} PORTAL_PORT=$(PORTAL_PORT) exec node samples/portal/server.mjs

# The portal server's one runtime dependency, openapi-fetch (DESIGN §9.6), from samples/portal's lock file.
portal-deps:
	@cd samples/portal && npm ci --no-audit --no-fund --loglevel=error >/dev/null

# Debian Chromium (never a browser download) and playwright-core from the lock file, the portal's own dependencies,
# then the e2e script.
e2e: build e2e-deps portal-deps
	@CONFIG=$(CONFIG) CHROMIUM_PATH=$(CHROMIUM) node samples/portal/e2e/portal.e2e.mjs

# The support console walked in Chromium (issue 24): its own PostgreSQL on E2E_CONSOLE_PG_PORT, screenshots to docs/console/.
E2E_CONSOLE_PG_PORT ?= 25463
.PHONY: e2e-console e2e-deps
e2e-console: build e2e-deps
	@CONFIG=$(CONFIG) CHROMIUM_PATH=$(CHROMIUM) E2E_PG_PORT=$(E2E_CONSOLE_PG_PORT) node samples/portal/e2e/console.e2e.mjs

e2e-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  [ "$$(id -u)" = 0 ] || { echo "e2e needs Chromium: sudo apt-get install -y chromium" >&2; exit 1; }; \
	  echo "Installing Debian chromium..."; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || exit 1; \
	fi
	@cd samples/portal/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null

# The sample portal's server typed from openapi.yaml (DESIGN §9.6): openapi-typescript and tsc from the lock file, the
# types generated afresh from the contract, tsc --noEmit over the server's modules (JSDoc), whose calls go through
# openapi-fetch (its types from the portal's own lock file, portal-deps). Part of `make test`.
portal-typecheck: portal-deps
	@cd samples/portal/typecheck && npm ci --no-audit --no-fund --loglevel=error >/dev/null && \
	  node_modules/.bin/openapi-typescript ../../../openapi.yaml --output generated/authservice.d.ts --alphabetize >/dev/null && \
	  node_modules/.bin/tsc --noEmit -p . && echo "portal-typecheck: samples/portal agrees with openapi.yaml"

# Redocly CLI at a pinned version, installed under .data/ (not globally).
lint-openapi:
	@[ -x .data/tools/redocly-$(REDOCLY_VERSION)/node_modules/.bin/redocly ] || \
	  npm install --prefix .data/tools/redocly-$(REDOCLY_VERSION) --no-save --no-audit --no-fund --loglevel=error \
	    @redocly/cli@$(REDOCLY_VERSION) >/dev/null
	@.data/tools/redocly-$(REDOCLY_VERSION)/node_modules/.bin/redocly lint openapi.yaml --format=stylish

clean:
	-for c in test openapi dev test-pgb e2e-pg e2e-console-pg bench-pg soak-pg hardening-outage sync-standby; do scripts/pg.sh destroy $$c; done; \
	  for b in pgbouncer-test bench-pgbouncer; do scripts/pgbouncer.sh stop $$b; done; ha/cluster.sh stop
	rm -rf .data */bin */obj

# Failover under load (ha/README.md): Patroni primary + synchronous standby (etcd), 3 instances, the primary killed.
# HA_SYNC=off shows the checks failing; HA_ARGS passes driver options (e.g. "--before 5 --after 5").
ha-test:
	@ha/run.sh

# Benchmarks (bench/README.md): one table of micro (BenchmarkDotNet) and load figures against the targets.
# Figures are reported, never asserted; the exit code says only whether the pipeline ran and every verify got 200.
# BENCH_BASELINE_DLL=path/to/AuthService.Api.dll adds another build (e.g. the commit before a change) as a further
# workload of the same rounds, on its own database: a same-run before/after pair. BENCH_ARGS=--no-micro skips micro.
.PHONY: bench bench-smoke bench-pgbouncer profile soak
bench:
	@bench/run.sh $(BENCH_ARGS)

# The whole pipeline in seconds (tiny N, 1 s phases, BenchmarkDotNet Dry job) so CI keeps it building and running.
bench-smoke:
	@bench/run.sh --smoke $(BENCH_ARGS)

# verify direct vs verify through PgBouncer (transaction pooling), interleaved in the same rounds; no micro benchmarks.
# One verify round with dotnet-trace and pg_stat_statements over the same window (issue 27): .data/profile/.
profile:
	@bench/profile/run.sh

bench-pgbouncer:
	@bench/run.sh --pgbouncer --users 120000 --warmup 5 --cold-starts 1 --half-duration 2 --half-warmup 0 --backup-codes 0 $(BENCH_ARGS)

# Issue 27's soak (bench/README.md): not in CI. Exit code non-zero when a check fails (errors, p99 drift, RSS drift).
# Its own cluster and port (BENCH_PG_PORT, default 25460), so it never touches a bench's cluster.
soak:
	@SOAK_MINUTES=$(or $(SOAK_MINUTES),20) bench/run.sh --soak $(BENCH_ARGS)
