# The two set-up commands of the README, and a few conveniences.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SERVE_ARGS ?= --host 0.0.0.0 --port 8080

.PHONY: deps build serve test fuzz bench-http clean

deps:
	@deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

serve: build
	$(BUILD_DIR)/ringserve serve $(SERVE_ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Fuzz target FUZZ (default: the HTTP connection) for FUZZ_SECONDS (clang + libFuzzer).
FUZZ ?= http_connection
FUZZ_SECONDS ?= 60
fuzz:
	@deploy/install-deps.sh --fuzz
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DRINGSERVE_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	@cmake --build build-fuzz --target $(FUZZ)_fuzz
	mkdir -p build-fuzz/corpus/$(FUZZ) && build-fuzz/tests/fuzz/$(FUZZ)_fuzz -max_total_time=$(FUZZ_SECONDS) \
	  -max_len=65536 build-fuzz/corpus/$(FUZZ) tests/fuzz/corpus/$(FUZZ)

bench-http: build
	@deploy/install-deps.sh --perf
	perf/http-bench.sh $(BUILD_DIR)/ringserve

clean:
	rm -rf $(BUILD_DIR)
