# sharedwrite — build and test.
#
# `make test` installs the test prerequisites with apt when they are missing and it
# runs as root, then vets, runs every package's tests with the race detector
# (each package under its own time budget), and cross-builds (and vets, tests
# included) for darwin and windows.

SHELL     := /bin/bash
GO        ?= go
# Each package's test binary is killed past this budget; the whole run stays well
# under CI's 20 minutes on 2 cores because packages run in parallel (-p 2).
TEST_TIMEOUT ?= 12m
TEST_FLAGS   ?= -race -count=1 -p 2 -timeout $(TEST_TIMEOUT)
APT_PACKAGES := redis-server fuse3 sshfs openssh-server iproute2 util-linux strace gcc libc6-dev
NEEDED_BINS  := redis-server redis-cli fusermount3 sshfs sshd ip unshare strace gcc
# sshd and ip live in /usr/sbin or /sbin, which a user's PATH may lack; the rigs
# find them with exec.LookPath, so the tests get the PATH test-prereqs checks.
export PATH := $(PATH):/usr/sbin:/sbin

.PHONY: all build test test-prereqs vet unit cross soak bench clean

all: build

build:
	$(GO) build ./...

# test-prereqs installs what the rigs need, only when something is missing and we
# are root; otherwise the rigs skip with a reason (or fail under
# SHAREDWRITE_REQUIRE_RIGS=1). gcc only recommends the C library's headers
# (libc6-dev), and cgo (the race tests) needs them: a gcc that cannot compile
# an #include <stdlib.h> counts as missing them.
test-prereqs:
	@missing=""; for b in $(NEEDED_BINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if command -v gcc >/dev/null 2>&1 && ! printf '#include <stdlib.h>\nint main(void) { return 0; }\n' | gcc -x c -fsyntax-only - >/dev/null 2>&1; then missing="$$missing libc6-dev"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test prerequisites (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "test prerequisites missing:$$missing (not root or no apt-get: rigs will skip)"; \
	  fi; \
	fi

vet:
	$(GO) vet ./...

# unit keeps the whole output in TEST_LOG and, when a test fails, repeats at
# the end (where a viewer that shows only the tail still finds them) the last
# lines each failed package printed (a test binary that exits without a
# report, by os.Exit or log.Fatal, shows only there) and the failing tests.
TEST_LOG ?= $(or $(TMPDIR),/tmp)/sharedwrite-test.log
unit:
	@set -o pipefail; $(GO) test $(TEST_FLAGS) ./... 2>&1 | tee $(TEST_LOG) || { \
	  status=$$?; echo; echo "=== the last lines of each failed package (whole output in $(TEST_LOG)):"; \
	  grep -E -B20 '^FAIL[[:space:]]' $(TEST_LOG) | grep -Ev '^ok[[:space:]]' | head -n 150; \
	  echo "=== the failing tests:"; \
	  grep -E -A15 -- '--- FAIL|^panic: |test timed out' $(TEST_LOG) | head -n 150; \
	  exit $$status; }

# cross builds for darwin and windows, and vets there too, which compiles the
# tests: a test that needs Linux (or unix) says so in its file name or build
# constraint, and the rest build everywhere.
cross:
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

test: test-prereqs vet cross unit

# soak runs the long fault suite (see integration/).
soak:
	SHAREDWRITE_SOAK=1 $(GO) test -count=1 -timeout 60m -v -run 'Test' ./integration/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./writer/ ./locking/

clean:
	$(GO) clean -testcache
