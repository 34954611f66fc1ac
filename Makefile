# btfgen: build, test data, tests and benchmarks.
#
#   make deps       install missing system packages (apt-get; root, else prints the command)
#   make build      release build of btfgen and libbpf-judge
#   make install    copy btfgen to $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local)
#   make testdata   decompress the test kernels' BTF into .build/testdata/kernels
#   make run        deps + build + testdata, then btfgen over every fixture and test kernel
#   make test       deps + testdata, then swift test (what CI runs, via .ci/run)
#   make check-real the real programs against every real kernel, summary in bench/check-real.md
#   make fixtures   rebuild testdata/bpf/*.bpf.o from their .bpf.c
#   make bench      parse, trim, archive and real-workload benchmarks (vs libbpf and bpftool), into bench/results.md and README.md
#   make real-objects  fetch real CO-RE programs (libbpf-tools, xdp-tools) from Debian into .build/real/objects
#   make judge-sid  build libbpf-judge against sid's libbpf (>= 1.5) into .build/judge-sid, for distilled-base modules
#   make agent      build the generated agent-scale CO-RE program (testdata/agent) into .build/agent/agent.bpf.o
#   make fuzz       libFuzzer targets (btf, ext, elf, trim), FUZZ_RUNS executions each (default 1M)
#   make clean      remove build products, decompressed test data and out/
#
# SWIFT_FLAGS is passed to every swift build/test, e.g. SWIFT_FLAGS="--scratch-path .build-x".
# Note that the decompressed kernels stay in .build/testdata/kernels either way.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# Swift is not installed by `make deps`; use the toolchain in /opt/swift when there is one.
ifneq ($(wildcard /opt/swift/usr/bin/swift),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

SWIFT ?= swift
SWIFT_FLAGS ?=
APT_PACKAGES := libelf-dev libbpf-dev pkg-config bpftool dwarves xz-utils zstd lz4 libarchive-dev liblzma-dev chromium gcc binutils zlib1g-dev
KERNELS_DIR := .build/testdata/kernels

PREFIX ?= /usr/local

.PHONY: deps build install testdata run test check-real fixtures bench fuzz clean real-objects agent judge-sid

deps:
	@command -v $(SWIFT) >/dev/null 2>&1 || { \
	    echo "make deps: '$(SWIFT)' not found: install a Swift 6 toolchain and put its usr/bin on PATH" \
	         "(this Makefile adds /opt/swift/usr/bin when it exists)" >&2; exit 1; }
	@command -v dpkg >/dev/null 2>&1 || { \
	    echo "make deps: dpkg not found: install these packages by hand: $(APT_PACKAGES)" >&2; exit 1; }
	@missing=(); \
	for p in $(APT_PACKAGES); do \
	    status=$$(dpkg -s "$$p" 2>/dev/null || true); \
	    [[ $$'\n'$$status$$'\n' == *$$'\nStatus: install ok installed\n'* ]] || missing+=("$$p"); \
	done; \
	if (( $${#missing[@]} == 0 )); then exit 0; fi; \
	if [[ $$(id -u) -ne 0 ]]; then \
	    echo "make deps: missing packages: $${missing[*]}" >&2; \
	    echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends $${missing[*]}" >&2; \
	    exit 1; \
	fi; \
	echo "make deps: installing $${missing[*]}"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q; \
	apt-get install -y -q --no-install-recommends "$${missing[@]}"

# btfgen carries the Swift runtime (--static-swift-stdlib): it starts about 1 ms faster and runs
# where no Swift toolchain is installed; it needs libelf1 and libstdc++6, and libarchive13 (loaded
# on first use) for compressed inputs.
build: deps
	$(SWIFT) build $(SWIFT_FLAGS) -c release --static-swift-stdlib --product btfgen
	$(SWIFT) build $(SWIFT_FLAGS) -c release --product libbpf-judge

# The binary carries the Swift runtime: nothing else of the build is needed where it is copied.
install: build
	bin="$$($(SWIFT) build $(SWIFT_FLAGS) -c release --show-bin-path)"; \
	install -D -m 0755 "$$bin/btfgen" "$(DESTDIR)$(PREFIX)/bin/btfgen"
	"$(DESTDIR)$(PREFIX)/bin/btfgen" --version

testdata: deps
	scripts/testdata-kernels.sh $(KERNELS_DIR) >/dev/null

run: deps build testdata
	rm -rf out
	.build/release/btfgen --input $(KERNELS_DIR) --object testdata/bpf --output out/ --report out/report.json
	.build/release/btfgen report out/report.json --output out/report.html
	@.build/release/btfgen report out/report.json | sed -n '/^Kernels$$/,/^Totals/p' | sed '$$d'
	.build/release/btfgen --input $(KERNELS_DIR)/debian-bookworm-6.1.0-56-amd64.btf \
	    --modules testdata/kernels/modules/debian-bookworm-6.1.0-56-amd64 \
	    --object testdata/bpf/modules.bpf.o --output out/modules/debian-bookworm-6.1.0-56-amd64.btf --verbose
	@echo "trimmed BTFs in out/ (with kernel modules: out/modules/); full report: out/report.json, out/report.html"

# The tests are built optimized, with testable imports: the in-process tests resolve tens of
# thousands of real relocations per kernel, and a debug build takes more than CI's 90 minutes
# over what runs in under 5 optimized. They run libbpf-judge (libbpf as the oracle) and the
# btfgen CLI from the same release build, and read the kernels from KERNELS_DIR. TEST_TIMEOUT
# (seconds) stops a run that hangs, with a message, well inside CI's limit.
TEST_TIMEOUT ?= 3600
test: deps testdata build real-objects agent judge-sid
	bin="$$($(SWIFT) build $(SWIFT_FLAGS) -c release --show-bin-path)"; \
	BTFGEN_JUDGE="$$bin/libbpf-judge" BTFGEN_BIN="$$bin/btfgen" BTFGEN_JUDGE_SID="$(CURDIR)/.build/judge-sid/libbpf-judge" \
	BTFGEN_TEST_KERNELS="$(CURDIR)/$(KERNELS_DIR)" \
	    timeout --foreground $(TEST_TIMEOUT) $(SWIFT) test $(SWIFT_FLAGS) -c release --parallel \
	    || { rc=$$?; (( rc != 124 )) || echo "make test: swift test ran longer than $(TEST_TIMEOUT) s and was stopped" >&2; exit $$rc; }

# The real programs against every real kernel (make test takes a slice of the kernels): each
# relocation and count equal libbpf's, trimmed outputs relocate the same and are no larger than
# bpftool's. Its summary goes to bench/check-real.md, which README quotes.
check-real: deps testdata build real-objects agent
	bin="$$($(SWIFT) build $(SWIFT_FLAGS) -c release --show-bin-path)"; \
	BTFGEN_JUDGE="$$bin/libbpf-judge" BTFGEN_BIN="$$bin/btfgen" \
	BTFGEN_TEST_KERNELS="$(CURDIR)/$(KERNELS_DIR)" BTFGEN_REAL_MATRIX=all \
	    $(SWIFT) test $(SWIFT_FLAGS) -c release --filter 'RealProgramsTests|RealTrimTests|DuplicateTypesTests' 2>&1 | tee .build/check-real.log; \
	scripts/check-real-summary.sh .build/check-real.log > bench/check-real.md
	scripts/update-readme-bench.py --check-real

fixtures:
	scripts/build-fixtures.sh

# Downloads (never installs) Debian's libbpf-tools and xdp-tools and cuts the BPF objects out of
# their executables; cached under .build/real, see testdata/real/README.md.
real-objects: deps
	scripts/fetch-bpf-objects.sh

# libbpf-judge linked with sid's libbpf (>= 1.5), the oracle for modules with a distilled base
# (btf__relocate, btf__distill_base); sid's libbpf-dev is downloaded, never installed.
judge-sid: deps
	scripts/build-judge-sid.sh

# Compiles the generated testdata/agent/agent.bpf.c (150 programs, ~35,000 CO-RE relocations) when
# it or the script is newer than the object; skipped, with a message, without clang's BPF target.
agent:
	scripts/build-agent.sh

# Four benchmarks in one run (the last on the real programs); their tables go to bench/results.md and into README.md.
# All of them time the binaries `make build` makes (static Swift stdlib, as users run it).
bench: build testdata real-objects agent
	bin="$$($(SWIFT) build $(SWIFT_FLAGS) -c release --show-bin-path)"; \
	export BTFGEN="$$bin/btfgen" JUDGE="$$bin/libbpf-judge"; \
	scripts/bench.sh $(KERNELS_DIR) bench/parse.md && \
	scripts/bench-trim.sh $(KERNELS_DIR) bench/trim.md && \
	scripts/bench-archive.sh $(KERNELS_DIR) bench/archive.md && \
	scripts/bench-real.sh $(KERNELS_DIR) bench/real.md
	cat bench/parse.md <(echo) bench/trim.md <(echo) bench/archive.md <(echo) bench/real.md > bench/results.md
	scripts/update-readme-bench.py

# Each fuzz target runs FUZZ_RUNS executions, at most FUZZ_SECONDS; a crash leaves its input in
# .build-fuzz/fuzz/artifacts.
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 1800
fuzz: deps
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT="$(SWIFT)" scripts/fuzz.sh

clean:
	-$(SWIFT) package $(SWIFT_FLAGS) clean
	rm -rf $(KERNELS_DIR) out
