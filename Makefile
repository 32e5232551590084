# CRA — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Node >= 22.19 on PATH: the machine's, or Node 24 installed into .tools/ on first use.
NODE_BIN := $(shell scripts/ensure-node.sh)
export PATH := $(NODE_BIN):$(PATH)

STAMP := node_modules/.install-stamp
IMAGE ?= ghcr.io/cra-dev/cra:1.0.0

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): package.json package-lock.json core/package.json runtime/package.json operator/package.json e2e/package.json bench/package.json
	npm ci
	@touch $@

.PHONY: deps
deps: $(STAMP) ## Install dependencies from the lock file

.PHONY: build
build: deps ## Compile every workspace and bundle the trace viewer (runtime/dist/ui)
	npx tsc -b
	node runtime/scripts/build-ui.mjs

.PHONY: run
run: build ## Serve the reference atlases on 127.0.0.1:8080 with embedded stores (no services needed)
	node runtime/bin/cra.js serve --config examples/local/cra.yaml

.PHONY: stand-in-api
stand-in-api: ## A stand-in for the GitHub REST API on 127.0.0.1:9090, for offline demos (see README)
	node examples/local/stand-in-api.mjs

.PHONY: typecheck
typecheck: deps ## Type-check sources and tests
	npx tsc -b
	npx tsc -p tsconfig.test.json
	npx tsc -p e2e --noEmit
	npx tsc -p bench --noEmit

.PHONY: lint
lint: deps ## ESLint, Prettier and the dependency-direction check
	npx eslint .
	npx prettier --check .
	npx depcruise --config .dependency-cruiser.cjs core/src runtime/src operator/src

.PHONY: test
test: build ## Install what is missing, start what is needed, run every test
	scripts/test.sh

.PHONY: bench
bench: build ## Run the benchmarks and rewrite bench/RESULTS.md
	npx tsx bench/run.ts

.PHONY: image
image: ## Build the container image (needs Docker; docs/guides/docker.md)
	docker build -t $(IMAGE) .

.PHONY: gen-deploy
gen-deploy: deps ## Regenerate the chart's CRDs and RBAC, config/ and docs/reference/helm-values.md
	HELM="$$(scripts/build-envtest.sh)/helm" npm run gen:deploy

.PHONY: kind-e2e
kind-e2e: build ## Image, kind cluster, chart, reference atlases, e2e suite (needs Docker and kind; not run in CI)
	IMAGE=$(IMAGE) scripts/kind-e2e.sh

.PHONY: envtest
envtest: ## Build (or reuse) the cached kube-apiserver, etcd, kubectl and helm
	scripts/build-envtest.sh

.PHONY: clean
clean: ## Remove build output (keeps caches)
	rm -rf core/dist runtime/dist operator/dist
