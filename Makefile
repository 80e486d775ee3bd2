# Altus — make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN      := $(CURDIR)/.bin
MODULES  := pkg gateway services/account services/cache services/dbrouter services/enhance services/search cmd/altus
ALL_PKGS := github.com/altus4/altus/...

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/buf:
	@echo "building buf (first time only; several minutes from a cold module cache)"
	cd tools && GOWORK=off GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf

$(BIN)/grpcurl:
	cd tools && GOWORK=off GOBIN=$(BIN) go install github.com/fullstorydev/grpcurl/cmd/grpcurl

.PHONY: grpcurl
grpcurl: $(BIN)/grpcurl ## Build grpcurl (pinned in tools/go.mod) into .bin/.

.PHONY: plugins
plugins: ## Build the protoc plugins pinned in pkg/go.mod into .bin/.
	cd pkg && GOBIN=$(BIN) go install tool

.PHONY: generate
generate: $(BIN)/buf plugins ## Regenerate Go code and the OpenAPI document from proto/.
	PATH=$(BIN):$$PATH buf lint
	PATH=$(BIN):$$PATH buf generate

.PHONY: check-generate
check-generate: generate ## Fail if the committed generated code is stale.
	git diff --exit-code -- pkg/gen gateway/internal/openapi/spec

.PHONY: build
build: ## Build every binary into bin/.
	@mkdir -p bin
	go build -o bin/ ./gateway ./services/account ./services/cache ./services/dbrouter ./services/enhance ./services/search ./cmd/altus

.PHONY: vet
vet: ## go vet every module.
	go vet $(ALL_PKGS)

.PHONY: lint
lint: vet ## Lint protos (buf) and Go (go vet, gofmt).
	PATH=$(BIN):$$PATH buf lint
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: tidy
tidy: ## go mod tidy every module.
	@for m in $(MODULES) tools; do (cd $$m && GOWORK=off go mod tidy) || exit 1; done

.PHONY: run
run: ## Start MariaDB, Redis, every service and the gateway in the background (http://127.0.0.1:3000).
	./deploy/local/run.sh

.PHONY: run-one
run-one: ## make run with every service in one process (bin/altus, built from cmd/altus), on the same ports.
	ALTUS_RUN_ONE=1 ./deploy/local/run.sh

.PHONY: stop
stop: ## Stop what make run started.
	./deploy/local/stop.sh

.PHONY: bench
bench: ## Load-test the running suite (make run first): rest, grpc and raw SQL, 1 and 16 users; .run/bench-*.json.
	./deploy/local/bench.sh $(BENCH_ARGS)

.PHONY: bench-scale
bench-scale: ## Ramp and spike through nginx against 1 then 2 gateway+search replicas (make run first); .run/bench-scale-*/.
	./deploy/local/bench-scale.sh

.PHONY: scale
scale: ## Start N (SCALE=2) gateway+search replicas behind nginx on the running suite; make scale SCALE=0 stops them.
	@if [ "$(SCALE)" = 0 ]; then ./deploy/local/scale.sh stop; else ./deploy/local/scale.sh start $(or $(SCALE),2); fi

.PHONY: test-ha
test-ha: ## Only the replica tests: kill a gateway and a search replica under load behind nginx; a key's limit across replicas.
	ALTUS_DEPS_NGINX=1 ./deploy/local/deps.sh
	go test -count=1 -run 'TestReplicasBehindNginx|TestRateLimits' -v ./gateway/e2e/

.PHONY: modules
modules: ## Check that every module builds on its own (GOWORK=off).
	@for m in $(MODULES); do (cd $$m && GOWORK=off go build -o /dev/null ./...) || { echo "$$m does not build on its own: run make tidy"; exit 1; }; done

.PHONY: deploy-check
deploy-check: ## Render the Kubernetes overlays and check everything under deploy/ offline (nginx -t / haproxy -c when installed).
	cd tools/deploycheck && GOWORK=off go test -count=1 ./
	cd tools/deploycheck && GOWORK=off go run . -root ../..

.PHONY: deploy-render
deploy-render: ## Print the Kubernetes manifests of an overlay: make deploy-render OVERLAY=production (or development).
	@cd tools/deploycheck && GOWORK=off go run . -render ../../deploy/k8s/overlays/$(or $(OVERLAY),production)

.PHONY: deploy-tidy
deploy-tidy: ## go mod tidy the deploy-check tool (its own module, outside go.work).
	cd tools/deploycheck && GOWORK=off go mod tidy

.PHONY: test
test: ## Run unit, integration and end-to-end tests against the real MariaDB and Redis.
	ALTUS_DEPS_NGINX=1 ./deploy/local/deps.sh
	$(MAKE) --no-print-directory modules
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(ALL_PKGS)
	go test -count=1 -timeout 15m $(ALL_PKGS)
