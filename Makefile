# ec2sim — the two commands a user needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/ec2sim
PKGS    := ./...
# Root tests bring up namespaces; keep them from starving the 2-core machines this runs on.
TESTFLAGS ?= -count=1 -timeout 15m -p 2

.PHONY: all build test unit demo bench lint deps clean fuzz docs

all: build

build:
	$(GO) build -o $(BIN) ./cmd/ec2sim

# Packages the tests and the demo need on a fresh Debian machine (root). Skipped when present.
deps:
	@command -v ip >/dev/null && command -v ping >/dev/null && command -v iperf3 >/dev/null && command -v nft >/dev/null && command -v tcpdump >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    iproute2 iputils-ping iperf3 nftables tcpdump netcat-openbsd ethtool util-linux >/dev/null; }

# The whole test suite: unit, fuzz seeds, zero-allocation checks and root tests in namespaces.
test: deps build
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)

# Unit tests only (no root needed).
unit:
	$(GO) test -count=1 -short $(PKGS)

# Build, then run every bundled scenario suite and print the results.
demo: deps build
	./$(BIN) test scenarios/suites/*.yaml

# Regenerate docs/scenario-reference.md from the scenario schema (a test fails when it is stale).
docs:
	$(GO) generate ./scenarios

bench: deps build
	$(GO) run ./bench -out bench-results.json

lint:
	gofmt -l . | (! grep .) || { echo "gofmt needed on the files above"; exit 1; }
	$(GO) vet $(PKGS)
	@test -x "$$(go env GOPATH)/bin/staticcheck" || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	"$$(go env GOPATH)/bin/staticcheck" $(PKGS)

clean:
	rm -rf bin bench-results.json
