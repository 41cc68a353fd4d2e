# make run     install what is missing, build, run a demo job end to end
# make test    install what is missing, build, run every test (plain, then ASan+UBSan)
# make bench   build, then compare jr with xargs -P, GNU parallel and task-spooler
# make install PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup setup-test configure build build-asan run test test-plain test-asan bench install clean

all: build

# What building and the demo need; `make run` installs nothing more.
setup:
	@scripts/setup

# What the tests also use: Chromium, tmux, GNU parallel, numpy, systemd tools, Slurm.
setup-test: setup
	@scripts/setup optional || echo "make: optional tools could not be installed; the tests that need them will say they skip"
	@scripts/setup slurm || echo "make: Slurm and munge could not be installed; the Slurm test will say it skips"

configure: setup
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJR_WERROR=ON $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build build -j $(JOBS)

build-asan: setup
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DJR_SANITIZE=ON -DJR_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)

# The demo needs jr alone: building the tests too would double a fresh machine's first run.
run: configure
	@cmake --build build -j $(JOBS) --target jr
	@examples/demo.sh build

test-plain: build setup-test
	@cd build && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan setup-test
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 JR_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

test: test-plain test-asan

bench: build setup-test
	@rc=0; bench/run build || rc=1; echo; /usr/bin/python3 bench/python_bench.py build || rc=1; exit $$rc

# Binaries to PREFIX/bin, units to PREFIX/lib/systemd/{user,system}, man pages to PREFIX/share/man,
# all below DESTDIR when it is set (cmake --install reads it from the environment).
install: build
	@DESTDIR="$(DESTDIR)" cmake --install build --prefix "$(PREFIX)"

clean:
	rm -rf build build-asan
