# tailgate: one GNU Makefile. `make` builds ./tailgate; `make test` runs every test (plain build,
# then under AddressSanitizer+UBSan); `make demo` runs the main job.
CC ?= cc
PKGS := libevent libcurl libcjson libevent_openssl openssl libnghttp2 zlib
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT ?= -O2 -g
SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override CFLAGS += $(OPT) -std=c11 -D_GNU_SOURCE $(WARN) -I. -Icommon -Imockprov -Ichaos -Irunner -Ireports -MMD -MP
override LDFLAGS += $(LDOPT)
PREFIX ?= /usr/local
BUILD ?= build

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

COMMON_SRC := common/clock.c common/curlev.c common/cliutil.c common/fetch.c common/markup.c common/httpd.c \
              common/jget.c common/sockdrain.c common/httpguard.c common/jparse.c common/utf8.c
COMMON_SRC += common/adminguard.c common/version.c common/tls.c common/tlsclient.c common/sockport.c
COMMON_SRC += common/strappend.c common/decimal.c common/strhash.c
COMMON_SRC += common/sink.c common/h1sink.c common/exchange.c common/h1exchange.c common/eventstream.c
COMMON_SRC += $(wildcard common/h2*.c)
MOCK_SRC := mockprov/engine.c mockprov/profile.c mockprov/ledger.c mockprov/timeline.c \
            mockprov/request.c mockprov/wire.c mockprov/holes.c mockprov/gemini.c mockprov/completions.c \
            mockprov/ollama.c mockprov/azure.c mockprov/bedrock.c mockprov/fault.c mockprov/wheel.c mockprov/tick.c \
            mockprov/reply.c \
            mockprov/gen.c mockprov/generate.c mockprov/store.c mockprov/admin.c mockprov/metrics.c \
            mockprov/route.c mockprov/server.c mockprov/scope.c
CHAOS_SRC := $(wildcard chaos/*.c)
RUNNER_SRC := $(wildcard runner/*.c)
REPORTS_SRC := $(wildcard reports/*.c)
CLI_SRC := $(wildcard cli/*.c)
LIB_SRC := $(COMMON_SRC) $(MOCK_SRC) $(CHAOS_SRC) $(RUNNER_SRC) $(REPORTS_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
# refgw, the reference gateway: its own program, not part of ./tailgate. Its objects live in
# refgw-obj/ because $(BUILD)/refgw is the program.
REFGW_SRC := $(wildcard refgw/*.c)
REFGW_OBJ := $(REFGW_SRC:refgw/%.c=$(BUILD)/refgw-obj/%.o)
REFGW_LIB := $(filter-out $(BUILD)/refgw-obj/main.o,$(REFGW_OBJ))

TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps test test-plain asan memcheck bench soak demo clean install
.SECONDARY:

all: deps tailgate $(BUILD)/refgw

deps:
	@scripts/deps.sh build

tailgate: $(BUILD)/tailgate
	rm -f $@ && cp $< $@ # rm first: a running ./tailgate keeps its old inode

$(BUILD)/tailgate: $(BUILD)/main.o $(CLI_SRC:%.c=$(BUILD)/%.o) $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/refgw: $(REFGW_OBJ) $(COMMON_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/refgw-obj/%.o: refgw/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# the version from VERSION, the revision from git when built in a checkout; the object is rebuilt
# whenever either changes (the stamp holds both)
VERSION_NUMBER := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
VERSION_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell \
    git diff --quiet HEAD -- 2>/dev/null || { git rev-parse HEAD >/dev/null 2>&1 && echo -dirty; })
VERSION_DEFS := -DTAILGATE_VERSION='"$(VERSION_NUMBER)"' -DTAILGATE_REVISION='"$(VERSION_REV)"'
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION_DEFS)' | cmp -s - $@ || echo '$(VERSION_DEFS)' >$@
$(BUILD)/common/version.o: common/version.c $(BUILD)/version.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(VERSION_DEFS) -c $< -o $@
.PHONY: FORCE
FORCE:

TEST_LIB := $(BUILD)/tests/check.o $(BUILD)/tests/harness.o $(BUILD)/tests/loopthread.o \
            $(BUILD)/tests/h2peer.o

$(BUILD)/tests/test_%: tests/test_%.c $(TEST_LIB) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(TEST_LIB) $(LIB_OBJ) $(LDFLAGS) $(PKG_LIBS) -lm

# refgw's test links its modules too (not its main)
$(BUILD)/tests/test_refgw: tests/test_refgw.c $(TEST_LIB) $(LIB_OBJ) $(REFGW_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(TEST_LIB) $(LIB_OBJ) $(REFGW_LIB) \
	    $(LDFLAGS) $(PKG_LIBS) -lm

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests -c $< -o $@

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Wno-missing-prototypes -o $@ $< $(PKG_LIBS) -lm

# the join's scaling links the runner's modules
$(BUILD)/bench/joinbench: bench/joinbench.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(PKG_LIBS) -lm

test-bins: $(BUILD)/tailgate $(BUILD)/refgw $(TEST_BIN)

# The suite twice: the plain build, then AddressSanitizer + UBSan. One closing line for both.
test: deps
	@scripts/deps.sh node || true # the SDK tests then say what is missing
	@scripts/deps.sh tools || true # the output-format tests then skip, saying what is missing
	@scripts/deps.sh h2 || true # tests/test_chaos_h2.c then skips, saying what is missing
	@$(MAKE) --no-print-directory -s test-bins
	@$(MAKE) --no-print-directory -s BUILD=build-asan \
	    OPT="$(SAN)" LDOPT="-fsanitize=address,undefined" test-bins
	@scripts/run-tests.sh build build-asan

test-plain: deps
	@$(MAKE) --no-print-directory -s test-bins
	@scripts/run-tests.sh build

asan: deps
	@$(MAKE) --no-print-directory -s BUILD=build-asan \
	    OPT="$(SAN)" LDOPT="-fsanitize=address,undefined" test-bins
	@scripts/run-tests.sh build-asan

memcheck: deps
	@$(MAKE) --no-print-directory -s test-bins
	@MEMCHECK=1 scripts/run-tests.sh build

bench: deps all $(BUILD)/bench/floor $(BUILD)/bench/load $(BUILD)/bench/proxybench $(BUILD)/bench/soak \
       $(BUILD)/bench/joinbench
	@FLOOR_BIN=$(BUILD)/bench/floor LOAD_BIN=$(BUILD)/bench/load TAILGATE_BIN=./tailgate bench/run.sh || true
	@echo
	@PROXYBENCH_BIN=$(BUILD)/bench/proxybench TAILGATE_BIN=./tailgate bench/proxy.sh || true
	@echo
	@FLOOR_BIN=$(BUILD)/bench/floor LOAD_BIN=$(BUILD)/bench/load TAILGATE_BIN=./tailgate bench/client.sh || true
	@echo
	@TAILGATE_BIN=./tailgate bench/clienth2.sh || true
	@echo
	@TAILGATE_BIN=./tailgate bench/workers.sh || true
	@echo
	@TAILGATE_BIN=./tailgate bench/ci.sh
	@echo
	@TAILGATE_BIN=./tailgate bench/closelag.sh || true
	@echo
	@$(BUILD)/bench/joinbench 50000 || true
	@echo
	@SOAK_BIN=$(BUILD)/bench/soak TAILGATE_BIN=./tailgate bench/soak.sh

# The abort soak alone: 10,000 abandoned requests against the mock and through the proxy; fails on
# a leaked fd or a request the ledger lost.
soak: deps all $(BUILD)/bench/soak
	@SOAK_BIN=$(BUILD)/bench/soak TAILGATE_BIN=./tailgate bench/soak.sh

demo: all
	@scripts/deps.sh demo
	@scripts/demo.sh

# ---- install: the program, refgw, the scenario library, the example gateways, man pages and
# shell completion under $(DESTDIR)$(PREFIX). Installs $(BUILD)'s binaries (built there when
# missing or stale, never copied to ./tailgate): `make install BUILD=build-x PREFIX=$HOME/.local`.
# refgw is a helper the shipped gateway descriptions start (${TAILGATE_REFGW}, which `tailgate
# run` sets from PREFIX/libexec/tailgate/refgw), not a command of its own on PATH.
BINDIR = $(DESTDIR)$(PREFIX)/bin
LIBEXECDIR = $(DESTDIR)$(PREFIX)/libexec/tailgate
SHAREDIR = $(DESTDIR)$(PREFIX)/share/tailgate
MAN1DIR = $(DESTDIR)$(PREFIX)/share/man/man1
BASHCOMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
MAN_PAGES := $(wildcard docs/man/*.1)
# what `tailgate run` finds by name; the example gateways as tracked (no node_modules, no logs)
EXAMPLE_FILES = $(shell find examples/gateways -name node_modules -prune -o -type f \
                    ! -name '*.log' -print | LC_ALL=C sort)
.PHONY: uninstall image image-push

install: $(BUILD)/tailgate $(BUILD)/refgw
	install -d $(BINDIR) $(LIBEXECDIR) $(SHAREDIR)/scenarios $(MAN1DIR) $(BASHCOMPDIR) \
	    $(ZSHCOMPDIR)
	install -m 755 $(BUILD)/tailgate $(BINDIR)/tailgate
	install -m 755 $(BUILD)/refgw $(LIBEXECDIR)/refgw
	install -m 644 scenarios/*.json $(SHAREDIR)/scenarios/
	for f in $(EXAMPLE_FILES); do \
	    install -D -m $$(test -x "$$f" && echo 755 || echo 644) "$$f" "$(SHAREDIR)/$$f" || exit 1; \
	done
	install -m 644 $(MAN_PAGES) $(MAN1DIR)/
	install -m 644 scripts/completion/tailgate.bash $(BASHCOMPDIR)/tailgate
	install -m 644 scripts/completion/_tailgate $(ZSHCOMPDIR)/_tailgate

# removes the files install put there, share/tailgate and libexec/tailgate; nothing else
uninstall:
	rm -f $(BINDIR)/tailgate $(LIBEXECDIR)/refgw $(BASHCOMPDIR)/tailgate $(ZSHCOMPDIR)/_tailgate
	rm -f $(addprefix $(MAN1DIR)/,$(notdir $(MAN_PAGES)))
	rm -rf $(SHAREDIR)
	if [ -d $(LIBEXECDIR) ]; then rmdir $(LIBEXECDIR); fi

# ---- the container image (Dockerfile): `make image` builds it and tags it IMAGE:VERSION and
# IMAGE:latest; `make image-push IMAGE=ghcr.io/OWNER/tailgate` builds, tags and pushes both (log
# in to the registry first). CONTAINER=podman works too.
CONTAINER ?= docker
IMAGE ?= tailgate
image:
	$(CONTAINER) build --build-arg REVISION=$(VERSION_REV) -t $(IMAGE):$(VERSION_NUMBER) \
	    -t $(IMAGE):latest .

image-push:
	@case "$(IMAGE)" in */*) ;; *) echo "image-push: set IMAGE=REGISTRY/OWNER/NAME" >&2; exit 2;; esac
	@$(MAKE) --no-print-directory image IMAGE=$(IMAGE) CONTAINER=$(CONTAINER)
	$(CONTAINER) push $(IMAGE):$(VERSION_NUMBER)
	$(CONTAINER) push $(IMAGE):latest

# ---- fuzzing (tests/fuzz/): a libFuzzer target per parser, built by clang with ASan and UBSan
# in build-fuzz/; `make fuzz` runs each for FUZZ_SECONDS and fails on a crash, leak or timeout
# (inputs kept in build-fuzz/crashes/NAME/). test-bins also builds each harness with $(CC) and
# tests/fuzz/replay.c into $(BUILD)/fuzz/, to replay the corpora without libFuzzer. `make test`
# runs every target briefly (tests/fuzz/run.sh, called by scripts/run-tests.sh).
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -O1 -g $(FUZZ_SAN) -std=c11 -D_GNU_SOURCE $(WARN) -I. -Icommon -Imockprov -Ichaos \
              -Irunner -Ireports -Irefgw -Itests/fuzz -MMD -MP $(PKG_CFLAGS)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# what the parsers need; an archive, so each target links only the objects it uses
FUZZ_LIB_SRC := $(COMMON_SRC) $(CHAOS_SRC) $(RUNNER_SRC) $(REPORTS_SRC) mockprov/request.c \
                mockprov/wire.c mockprov/holes.c mockprov/gemini.c mockprov/completions.c mockprov/ollama.c \
                mockprov/azure.c mockprov/bedrock.c mockprov/engine.c mockprov/fault.c \
                mockprov/profile.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/refgw/meter.o
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
REPLAY_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/refgw-obj/meter.o

.PHONY: fuzz fuzz-bins fuzz-prep fuzz-clean

fuzz:
	@scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory -s -j2 fuzz-bins
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh fuzz

fuzz-bins: $(FUZZ_BIN)

# for `make test`: a toolchain that cannot be installed is a SKIP of the libFuzzer runs, with
# the reason, not a failure (the replays still run); a harness that does not build fails
fuzz-prep:
	@mkdir -p $(FUZZ_BUILD) && rm -f $(FUZZ_BUILD)/.unavailable
	@if scripts/deps.sh fuzz; then $(MAKE) --no-print-directory -s -j2 fuzz-bins; else \
	    echo "clang with libFuzzer could not be installed (apt-get install clang libclang-rt-dev)" \
	        >$(FUZZ_BUILD)/.unavailable; fi

# every target that ends in scripts/run-tests.sh: its short runs use build-fuzz/ as it is
test test-plain asan memcheck: fuzz-prep
test-bins: $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
clean: fuzz-clean

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libfuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libfuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

$(BUILD)/fuzz/libreplay.a: $(REPLAY_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libreplay.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Irefgw -Itests/fuzz -o $@ $(filter %.c %.a,$^) $(LDFLAGS) \
	    $(PKG_LIBS) -lm

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

clean:
	rm -rf build build-asan tailgate

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
