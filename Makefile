# Thin wrapper over CMake presets. The README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
BUILD ?= build/release
BITNET := $(BUILD)/bin/bitnet

.PHONY: deps build vocab demo test test-asan test-arm test-avx512-emu bench fuzz clean
FUZZ_SECONDS ?= 60

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

VOCAB_DIR := build/vocab

# Tokenizer reference data and the Llama-3 vocabulary GGUF, from the npm package
# llama3-tokenizer-js (tools/tokenizer/prepare.sh; npm registry only).
vocab: build
	@tools/tokenizer/prepare.sh $(VOCAB_DIR) $(BITNET)

# Make a small random-weight model offline (with the real Llama-3 vocabulary) and generate text.
demo: vocab
	@mkdir -p models
	$(BITNET) synth -o models/demo-tiny.gguf --preset tiny --seed 1
	$(BITNET) run -m models/demo-tiny.gguf -p "The capital of France is" -n 32 --temp 0

test: vocab
	@ctest --preset release

test-asan: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)
	@tools/tokenizer/prepare.sh $(VOCAB_DIR) build/dev/bin/bitnet
	@ctest --preset dev

# AArch64 cross build of the op suite, run under qemu-aarch64 (NEON, dotprod, i8mm tables).
test-arm:
	@scripts/install-deps.sh --arm
	@scripts/test-arm.sh

# The AVX-512 kernels' logic on a machine without AVX-512 (SIMDe emulation; not their speed).
test-avx512-emu: deps
	@scripts/test-avx512-emu.sh

# Microbenchmarks and an end-to-end `bitnet bench` on a 2B4T-shaped synthetic model.
bench: vocab
	@mkdir -p models
	@test -f models/2b4t-i2s.gguf || $(BITNET) synth -o models/2b4t-i2s.gguf --preset 2b4t --weights i2_s
	$(BUILD)/bin/membw_bench
	$(BITNET) bench -m models/2b4t-i2s.gguf -p 128 -n 64 -t $(JOBS)

# Build every libFuzzer target (fuzz/*_fuzz.cpp) with clang and run each for FUZZ_SECONDS.
fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@set -e; for f in build/fuzz/bin/*_fuzz; do \
	  echo "== $$f"; mkdir -p build/fuzz/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 build/fuzz/corpus/$$(basename $$f) 2>&1 | tail -3; \
	done

clean:
	rm -rf build
