# Ridgeline: two commands for users.
#   make run   - evaluate the bundled example deployments (installs missing packages first)
#   make test  - build and run the whole test suite through ctest
# Other targets: make build, make deps, make clean.

BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := cmake ninja-build g++ make libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev catch2 pybind11-dev
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
RIDGELINE := $(BUILD)/ridgeline

.PHONY: run test build deps clean configure

run: build
	$(RIDGELINE) evaluate examples/deepseek-v3-h800-ep.json
	@echo
	$(RIDGELINE) evaluate examples/deepseek-v3-h800-afd.json

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

configure: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=Release

# Installs only what is missing; apt-get update runs once, and only when something is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf $(BUILD)
