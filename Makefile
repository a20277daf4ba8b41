# Makefile - a thin front for CMake: the commands a newcomer needs.
#   make          build (RelWithDebInfo) into build/
#   make demo     install what is missing, build, run the demo end to end
#   make test     install, build with -Werror, run every test (plain, then
#                 ASan+UBSan), run the fuzzers for a bounded time
#   make bench    the benchmark (bench/)
#   make docs     regenerate docs/configuration.md from the settings table
#   make install  install what make built under PREFIX (default /usr/local),
#                 staged under DESTDIR if set (cmake/install.cmake says what)
#   make deb      build, then the .deb (CPack) in build/

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
FUZZ_SECONDS ?= 20
PREFIX ?= /usr/local

.PHONY: all deps kafka k8s-tools node-deps build build-asan build-fuzz demo test test-unit test-asan fuzz bench docs install deb clean

all: build

deps:
	@bash scripts/deps.sh

kafka: deps
	@bash scripts/kafka.sh fetch >/dev/null

# Helm and the manifest validator for tests/e2e/deploy_*.sh (cached).
k8s-tools:
	@bash scripts/k8s-tools.sh

# The npm packages of the API tests (tests/node, pinned by its lock file).
node-deps: deps
	@bash scripts/node-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMUSTER_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMUSTER_WERROR=ON -DMUSTER_SANITIZE=ON >/dev/null
	cmake --build build-asan -j $(JOBS)

build-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMUSTER_SANITIZE=ON -DMUSTER_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

demo: deps build
	@bash scripts/demo.sh

test: deps kafka k8s-tools node-deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure --timeout 600
	$(MAKE) test-asan
	$(MAKE) fuzz

test-asan: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --timeout 900 -L unit
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 MUSTER_E2E_KAFKA=mock \
	  ctest --output-on-failure --timeout 900 -L e2e

fuzz: build-fuzz
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: deps build
	@bash bench/run.sh

docs: build
	@bash scripts/gen-docs.sh

# Builds only when nothing is built, so `sudo make install` after `make`
# leaves no root-owned files in build/.
install:
	@test -x $(BUILD)/muster || $(MAKE) build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

deb: build
	cd $(BUILD) && cpack -G DEB

clean:
	rm -rf build build-asan build-fuzz
