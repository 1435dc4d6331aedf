# The two set-up commands of the README, and a few conveniences.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SERVE_ARGS ?= --host 0.0.0.0 --port 8080

.PHONY: deps build serve test test-image fuzz fuzz-smoke fuzz-long bench-http perf faults soak clean

deps:
	@deploy/install-deps.sh

# Under CI (.ci/run sets CI) a compiler warning fails the build: there are none, and CI keeps it so.
WERROR = $(if $(CI),-DCMAKE_COMPILE_WARNING_AS_ERROR=ON)

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(WERROR) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

serve: build
	$(BUILD_DIR)/ringserve serve $(SERVE_ARGS)

test: build
	@deploy/install-deps.sh --fuzz
	@$(MAKE) --no-print-directory fuzz-smoke
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The container image built with buildah and served (tests/image/image_test.sh): not part of `make test`,
# a build takes minutes. IMAGE_BINARY: a CPU-only ringserve to copy in instead of compiling it in the
# image (20 minutes on 2 cores). A skip (no buildah, no base image) is reported, not an error.
IMAGE_BINARY ?=
test-image:
	@deploy/install-deps.sh --image
	@tests/image/image_test.sh $(IMAGE_BINARY) || [ $$? -eq 77 ]

# The fuzz build: clang with ASan and UBSan at OSS-Fuzz's -O1 with line tables only, which compiles faster than
# RelWithDebInfo's -O2 -g (CI builds it on every run) and still symbolizes every frame of a crash.
FUZZ_CONFIGURE = cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_C_FLAGS="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only -DNDEBUG" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DRINGSERVE_FUZZ=ON -DBUILD_TESTING=OFF $(WERROR) >/dev/null

# Fuzz target FUZZ (default: the HTTP connection) for FUZZ_SECONDS (clang + libFuzzer), with its
# dictionary tests/fuzz/FUZZ.dict where there is one.
FUZZ ?= http_connection
fuzz: FUZZ_SECONDS ?= 60
fuzz:
	@deploy/install-deps.sh --fuzz
	@$(FUZZ_CONFIGURE)
	@cmake --build build-fuzz --target $(FUZZ)_fuzz
	mkdir -p build-fuzz/corpus/$(FUZZ) && build-fuzz/tests/fuzz/$(FUZZ)_fuzz -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=65536 $(if $(wildcard tests/fuzz/$(FUZZ).dict),-dict=tests/fuzz/$(FUZZ).dict) \
	  build-fuzz/corpus/$(FUZZ) $(wildcard tests/fuzz/corpus/$(FUZZ))

# Builds every fuzz target (tests/fuzz/*_fuzz.cc) and runs each over its seed
# corpus, if it has one, plus a fixed number of mutations: keeps them compiling
# and catches shallow crashes, JOBS targets at a time. New inputs go to a scratch directory, never the
# seeds. An input that runs past 10 s, or a target past FUZZ_SMOKE_SECONDS, is a
# failure, not a stall. Without clang it is skipped, except under CI.
FUZZ_RUNS ?= 20000
# Fewer runs for a target slow per input, so that each stays well under a minute on CI's 2 cores: grammar
# compiles a grammar and checks every token's mask per input, about 200 runs/s under ASan.
FUZZ_RUNS_grammar ?= 4000
FUZZ_SMOKE_SECONDS ?= 300
FUZZ_TARGETS = $(basename $(notdir $(wildcard tests/fuzz/*_fuzz.cc)))
fuzz-smoke:
	@if ! command -v clang++ >/dev/null; then \
	  if [ -n "$$CI" ]; then echo "fuzz-smoke: clang++ not found, and CI must run the fuzz targets" \
	    "(deploy/install-deps.sh --fuzz installs clang)"; exit 1; fi; \
	  echo "fuzz-smoke: skipped: clang++ not found (deploy/install-deps.sh --fuzz installs it)"; exit 0; fi
	@$(FUZZ_CONFIGURE)
	@cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@$(MAKE) --no-print-directory -j $(JOBS) $(addprefix fuzz-smoke-,$(FUZZ_TARGETS:_fuzz=))

# One target's smoke run (fuzz-smoke runs them JOBS at a time).
fuzz-smoke-%:
	@name=$*; scratch=build-fuzz/smoke-corpus/$$name; mkdir -p $$scratch; \
	  seeds=tests/fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	  dict=tests/fuzz/$$name.dict; if [ -f $$dict ]; then dict=-dict=$$dict; else dict=; fi; \
	  runs=$(or $(FUZZ_RUNS_$*),$(FUZZ_RUNS)); \
	  timeout $(FUZZ_SMOKE_SECONDS) build-fuzz/tests/fuzz/$${name}_fuzz -runs=$$runs -seed=1 -timeout=10 \
	    -max_len=65536 $$dict $$scratch $$seeds >build-fuzz/$$name.log 2>&1; status=$$?; \
	  if [ $$status -ne 0 ]; then tail -40 build-fuzz/$$name.log; \
	    if [ $$status -eq 124 ]; then echo "fuzz-smoke: $$name ran past $(FUZZ_SMOKE_SECONDS)s"; \
	    else echo "fuzz-smoke: $$name failed (exit $$status)"; fi; exit 1; fi; \
	  echo "fuzz-smoke: $$name: $$runs runs$${seeds:+ over its seeds}, no crash"

# Every fuzz target in turn for FUZZ_SECONDS each (default an hour: the run perf/results/fuzz.md records),
# with its dictionary. Each keeps its corpus in build-fuzz/corpus/<name>, so a later run goes on from it (the
# seeds are read, never written), and its crashes in build-fuzz/artifacts/<name>/; an input past 10 s or 2 GB
# counts as one. A target that fails does not stop the others; the run fails at the end. One line per target
# from libFuzzer's final stats: executions, corpus, coverage. FUZZ_LONG_TARGETS: some targets only (names).
FUZZ_LONG_TARGETS ?= $(FUZZ_TARGETS:_fuzz=)
fuzz-long: FUZZ_SECONDS ?= 3600
fuzz-long:
	@deploy/install-deps.sh --fuzz
	@$(FUZZ_CONFIGURE)
	@cmake --build build-fuzz -j $(JOBS) --target $(addsuffix _fuzz,$(FUZZ_LONG_TARGETS))
	@failed=; for name in $(FUZZ_LONG_TARGETS); do \
	  corpus=build-fuzz/corpus/$$name; artifacts=build-fuzz/artifacts/$$name/; mkdir -p $$corpus $$artifacts; \
	  seeds=tests/fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	  dict=tests/fuzz/$$name.dict; if [ -f $$dict ]; then dict=-dict=$$dict; else dict=; fi; \
	  log=build-fuzz/$$name-long.log; \
	  /usr/bin/time -o $$log.time -f '%e %U %S' build-fuzz/tests/fuzz/$${name}_fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -timeout=10 -max_len=65536 -print_final_stats=1 -artifact_prefix=$$artifacts $$dict $$corpus $$seeds \
	    >$$log 2>&1; status=$$?; \
	  times=$$(tail -n 1 $$log.time | awk '{printf "%.0f s (%.0f CPU s)", $$1, $$2 + $$3}'); \
	  last=$$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' $$log | tail -1); \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	  rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log); \
	  cov=$$(echo "$$last" | sed -n 's|.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\)/\([^ ]*\).*|\1 edges, \2 features; corpus \3 inputs (\4)|p'); \
	  if [ $$status -eq 0 ]; then result="no crash"; else result="FAILED (exit $$status, $$log)"; \
	    failed="$$failed $$name"; tail -40 $$log; fi; \
	  echo "fuzz-long: $$name: $$times, $$execs execs ($$rate/s), coverage $$cov, $$result"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz-long: failed:$$failed"; exit 1; fi

bench-http: build
	@deploy/install-deps.sh --perf
	perf/http-bench.sh $(BUILD_DIR)/ringserve

# ringperf's default sweep against ringserve on the demo model (a free loopback port), results in
# PERF_OUT: report.md, results.json/.csv, latency-throughput.png. PERF_ARGS go to `ringperf run`
# (e.g. --target-ntpot-ms 50 --gpu-dollars-per-hour 2.5); PERF_SERVE_ARGS to `ringserve serve`.
PERF_SCENARIO ?= perf/scenarios/default.json
PERF_OUT ?= perf/out/ringperf
PERF_ARGS ?=
PERF_SERVE_ARGS ?=
perf: build
	SERVE_ARGS="$(PERF_SERVE_ARGS)" perf/ringperf/run-against-ringserve.sh $(BUILD_DIR) $(PERF_SCENARIO) $(PERF_OUT) $(PERF_ARGS)

# Every fault scenario of perf/faults.py at full size (clients that vanish, slow readers, a burst past the
# admission limit, SIGTERM under load, absurd requests), each against its own ringserve on the demo model:
# one PASS/FAIL line per check. FAULTS_ARGS go to faults.py (e.g. --model M, --serve-args "--io-backend epoll").
# `make test` runs them at their quick sizes (ctest Faults).
FAULTS_ARGS ?=
faults: build
	python3 perf/faults.py all --binary $(BUILD_DIR)/ringserve $(FAULTS_ARGS)

# perf/soak.sh: SOAK_MINUTES (default 30) of perf/scenarios/soak.json on synth 1b q4_0 (CPU) at its
# inflection concurrency, RSS sampled every 10 s; checks zero errors, RSS flat, KV blocks and connections
# released at the end. Results and summary.md in SOAK_OUT (default perf/out/soak).
soak: build
	perf/soak.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
