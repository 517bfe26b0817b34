# Phony targets only: CMake is the build, ctest runs the tests.
# Variables: BUILD (build dir), RETORT_CUDA (AUTO|ON|OFF), RETORT_BLAS (AUTO|openblas|none), JOBS.
BUILD ?= build
RETORT_CUDA ?= AUTO
RETORT_BLAS ?= AUTO
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo clean install

all: build

deps:
	./scripts/install-deps.sh

configure:
	cmake -S . -B $(BUILD) -DRETORT_CUDA=$(RETORT_CUDA) -DRETORT_BLAS=$(RETORT_BLAS) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: deps build
	./scripts/demo.sh $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
