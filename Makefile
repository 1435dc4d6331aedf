# The two set-up commands of the README, and a few conveniences.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SERVE_ARGS ?= --host 0.0.0.0 --port 8080

.PHONY: deps build serve test test-image fuzz fuzz-smoke bench-http perf clean

deps:
	@deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
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

# Fuzz target FUZZ (default: the HTTP connection) for FUZZ_SECONDS (clang + libFuzzer).
FUZZ ?= http_connection
FUZZ_SECONDS ?= 60
fuzz:
	@deploy/install-deps.sh --fuzz
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DRINGSERVE_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	@cmake --build build-fuzz --target $(FUZZ)_fuzz
	mkdir -p build-fuzz/corpus/$(FUZZ) && build-fuzz/tests/fuzz/$(FUZZ)_fuzz -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=65536 build-fuzz/corpus/$(FUZZ) $(wildcard tests/fuzz/corpus/$(FUZZ))

# Builds every fuzz target (tests/fuzz/*_fuzz.cc) and runs each over its seed
# corpus, if it has one, plus a fixed number of mutations: keeps them compiling
# and catches shallow crashes. New inputs go to a scratch directory, never the
# seeds. An input that runs past 10 s, or a target past FUZZ_SMOKE_SECONDS, is a
# failure, not a stall. Without clang it is skipped, except under CI.
FUZZ_RUNS ?= 20000
FUZZ_SMOKE_SECONDS ?= 300
FUZZ_TARGETS = $(basename $(notdir $(wildcard tests/fuzz/*_fuzz.cc)))
fuzz-smoke:
	@if ! command -v clang++ >/dev/null; then \
	  if [ -n "$$CI" ]; then echo "fuzz-smoke: clang++ not found, and CI must run the fuzz targets" \
	    "(deploy/install-deps.sh --fuzz installs clang)"; exit 1; fi; \
	  echo "fuzz-smoke: skipped: clang++ not found (deploy/install-deps.sh --fuzz installs it)"; exit 0; fi
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DRINGSERVE_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@for target in $(FUZZ_TARGETS); do \
	  name=$${target%_fuzz}; scratch=build-fuzz/smoke-corpus/$$name; mkdir -p $$scratch; \
	  seeds=tests/fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	  timeout $(FUZZ_SMOKE_SECONDS) build-fuzz/tests/fuzz/$$target -runs=$(FUZZ_RUNS) -seed=1 -timeout=10 \
	    -max_len=65536 $$scratch $$seeds >build-fuzz/$$name.log 2>&1; status=$$?; \
	  if [ $$status -ne 0 ]; then tail -40 build-fuzz/$$name.log; \
	    if [ $$status -eq 124 ]; then echo "fuzz-smoke: $$name ran past $(FUZZ_SMOKE_SECONDS)s"; \
	    else echo "fuzz-smoke: $$name failed (exit $$status)"; fi; exit 1; fi; \
	  echo "fuzz-smoke: $$name: $(FUZZ_RUNS) runs$${seeds:+ over its seeds}, no crash"; \
	done

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

clean:
	rm -rf $(BUILD_DIR)
