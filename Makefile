# Ridgeline: two commands for users.
#   make run   - plan DeepSeek-V3 on H800 at 50 ms: best EP vs best AFD (installs missing packages first)
#   make test  - build and run the whole test suite through ctest
# Other targets: make build, make test-cpp (C++ unit and CLI tests only: no Python venv),
# make python (.venv with the package pip-installed), make test-pip, make deps, make clean.

BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := python3-venv python3-dev cmake ninja-build g++ make libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev catch2 pybind11-dev \
                libopenmpi-dev openmpi-bin libibverbs-dev
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
RIDGELINE := $(BUILD)/ridgeline
VENV  ?= .venv
PY    := $(VENV)/bin/python
PY_TEST_DEPS := pytest numpy pandas matplotlib nbconvert nbformat ipykernel scikit-build-core pybind11

.PHONY: run test test-cpp build deps clean configure python venv

# Builds only the binary it runs.
run: configure
	cmake --build $(BUILD) -j $(JOBS) --target ridgeline
	$(RIDGELINE) plan --model deepseek-v3 --hardware h800 --slo "50 ms"

# The Python tests import the package staged in $(BUILD)/python (this build's module): the venv
# only needs the test tools.
test: build venv
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The C++ unit and CLI tests only: no virtual environment, no Python tests.
test-cpp: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -E '^python: '

# A virtual environment with the Python test tools (and the build tools pip install . needs).
venv: deps
	@echo "venv: preparing the virtual environment $(VENV) (the Python test tools; the first run downloads them)"
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check $(PY_TEST_DEPS)

# The same environment with the Python package installed into it (pip install .).
python: venv
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation .

build: configure
	cmake --build $(BUILD) -j $(JOBS)

configure: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release -DRIDGELINE_BUILD_PYTHON=ON

# Installs only what is missing; apt-get update runs once, and only when something is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# pip install . into a fresh venv, then the installed `ridgeline` from outside the tree (also part of
# `make test`; the first run compiles the wheel, ~280 CPU-s; later runs reuse build-python/).
.PHONY: test-pip
test-pip: build venv
	cd $(BUILD) && ctest --output-on-failure -R "python: pip_install"

clean:
	rm -rf $(BUILD) build-python $(VENV)

# --- Reliability: sanitizers and fuzzing (README "Reliability") ---
#   make test-sanitize  - the whole ctest suite again, built with ASan + UBSan (build-asan/)
#   make fuzz           - builds the libFuzzer targets (clang) and runs each FUZZ_SECONDS
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++-14
FUZZ_APT_PACKAGES := clang-14 libclang-rt-14-dev
# exitcode=86: a sanitizer report must not look like the CLI's own exit code 1 for bad input.
SANITIZER_ENV := ASAN_OPTIONS=exitcode=86:detect_leaks=1:strict_string_checks=1 \
                 UBSAN_OPTIONS=exitcode=86:print_stacktrace=1:halt_on_error=1
.PHONY: test-sanitize fuzz deps-fuzz

# Debug (-O0): compiles fastest; -g1 (line tables only) keeps file:line in sanitizer reports for
# less compile time than -g. From scratch on a busy 2-core machine this took 15.5 min,
# of which ~7 min is `cli: test_calibrate` (the calibrator's CPU benchmarks run slowly under ASan).
test-sanitize: deps
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DRIDGELINE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@# The Python tests exercise the pip-built (unsanitised) module, so they are not repeated here.
	@# The 10,000-trial Monte Carlo checks are statistics (100 s under ASan on 2 cores); the code they
	@# drive is exercised under the sanitizers by the other imbalance tests.
	cd $(ASAN_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) -E "^python:|Monte Carlo"

deps-fuzz:
	@missing=""; for p in $(FUZZ_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

fuzz: deps deps-fuzz
	@[ -f $(FUZZ_BUILD)/CMakeCache.txt ] || cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DRIDGELINE_FUZZ=ON -DRIDGELINE_BUILD_TESTS=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run_fuzz.sh $(FUZZ_BUILD) $(CURDIR) $(FUZZ_SECONDS)
