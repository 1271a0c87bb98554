# perfkit: a thin front over CMake. See README.md.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
# PK_SANITIZE=1 builds with -fsanitize=address,undefined; PK_WERROR=1 adds -Werror.
CMAKE_ARGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
              -DPK_SANITIZE=$(if $(PK_SANITIZE),ON,OFF) \
              -DPK_WERROR=$(if $(PK_WERROR),ON,OFF) $(CMAKE_EXTRA)
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local

.PHONY: all build deps deps-run deps-test deps-bench test run bench fuzz install clean

all: build

# The Debian packages, by what they are for (scripts/install-deps.sh says which):
# each target installs only its own set; `make deps` installs all three.
deps:
	@sh scripts/install-deps.sh run test bench
deps-run:
	@sh scripts/install-deps.sh run
deps-test:
	@sh scripts/install-deps.sh test
deps-bench:
	@sh scripts/install-deps.sh bench

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -G "$(GENERATOR)" $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake $(BUILD) $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: deps-test
	@$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

# The main job on its embedded default: the host agent, perfkit monitor, on loopback
# (PK_RUN_LISTEN=ADDR:PORT for another address; scripts/run-main.sh).
run: deps-run
	@$(MAKE) --no-print-directory build
	@sh scripts/run-main.sh $(BUILD)

bench: deps-bench
	@$(MAKE) --no-print-directory build
	sh bench/run-all.sh $(BUILD)

fuzz:
	CC=clang cmake -S . -B build-fuzz -G "$(GENERATOR)" -DPK_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-fuzz -j $(JOBS)
	sh scripts/run-fuzz.sh build-fuzz

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
