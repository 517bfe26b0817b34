# Phony targets only: CMake is the build, ctest runs the tests.
# Variables: BUILD (build dir), RETORT_CUDA (AUTO|ON|OFF), RETORT_BLAS (AUTO|openblas|none),
# RETORT_DNNL (AUTO|ON|OFF), CUDA_ARCHS (e.g. 80; empty: Turing to Hopper), JOBS.
BUILD ?= build
RETORT_CUDA ?= AUTO
RETORT_BLAS ?= AUTO
RETORT_DNNL ?= AUTO
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CUDA_ARCHS ?=
ARCH_FLAG = $(if $(CUDA_ARCHS),-DCMAKE_CUDA_ARCHITECTURES="$(CUDA_ARCHS)",)

.PHONY: all deps configure build test test-asan demo demo-cifar10 clean install

all: build

deps:
	./scripts/install-deps.sh

configure:
	cmake -S . -B $(BUILD) -DRETORT_CUDA=$(RETORT_CUDA) -DRETORT_BLAS=$(RETORT_BLAS) -DRETORT_DNNL=$(RETORT_DNNL) $(ARCH_FLAG) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (CPU build).
test-asan: deps
	cmake -S . -B $(BUILD)-asan -DRETORT_CUDA=OFF -DRETORT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets of every reader of outside bytes (tests/fuzz/README.md):
# a clang build in $(BUILD)-fuzz, then each target for FUZZ_SECONDS seconds.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	RETORT_EXTRA_PACKAGES="clang-14 libfuzzer-14-dev libclang-rt-14-dev" ./scripts/install-deps.sh
	cmake -S . -B $(BUILD)-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DRETORT_CUDA=OFF -DRETORT_FUZZ=ON \
	  -DRETORT_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target retort_fuzzers
	./tests/fuzz/run_fuzzers.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# The demos need only the binary, not the test suite.
demo: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target retort_cli
	./scripts/demo.sh $(BUILD) fashion-mnist

demo-cifar10: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target retort_cli
	./scripts/demo.sh $(BUILD) cifar10

# retort against PyTorch, side by side (needs Debian's python3-torch; see the docstring of
# bench/pytorch_compare.py): the set of issue 7 at batch 64 and 2 threads, written to
# BENCH_OUT. BENCH_ARGS adds options, e.g. make bench BENCH_ARGS=--quick BENCH_OUT=/tmp/b.md
BENCH_PYTHON ?= /usr/bin/python3
BENCH_OUT ?= bench/RESULTS.md
BENCH_ARGS ?=
.PHONY: bench
bench: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target retort_cli
	$(BENCH_PYTHON) bench/pytorch_compare.py --retort $(BUILD)/retort --markdown $(BENCH_OUT) $(BENCH_ARGS)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
