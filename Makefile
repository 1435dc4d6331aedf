# The two set-up commands of the README, and a few conveniences.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SERVE_ARGS ?= --host 0.0.0.0 --port 8080

.PHONY: deps build serve test bench-http clean

deps:
	@deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

serve: build
	$(BUILD_DIR)/ringserve serve $(SERVE_ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

bench-http: build
	@deploy/install-deps.sh --perf
	perf/http-bench.sh $(BUILD_DIR)/ringserve

clean:
	rm -rf $(BUILD_DIR)
