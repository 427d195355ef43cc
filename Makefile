# bitnet: build, test and run.
#
#   make demo    install the Python package (pip install -e .), convert a real ternary
#                model from ../shared and generate text with it from Python
#   make test    every test: Go (unit, golden, fuzz smoke runs), Python cross-checks
#                (tests/) and the Python package (python/tests/)
#   make ptx     recompile the CUDA kernels (kernels/cuda/kernels.cu) to the committed
#                PTX in kernels/cuda/ptx/ (needs nvcc; builds do not)
#   make gpucheck  build .gpucheck/ (test and benchmark binaries, small models) for
#                `bash scripts/gpu_check.sh` on a GPU machine without Go
#
# Everything the targets need is installed by them: Go modules by the go command,
# Python packages into .venv (tests/requirements.txt, and this package with its
# native library built by the local Go toolchain).

GO        ?= go
PYTHON    ?= python3
SHARED    ?= $(abspath ../shared)
ASSETS    := $(SHARED)/assets
BUILD     := build
BIN       := $(BUILD)/bitnet
VENV      := .venv
VPY       := $(VENV)/bin/python
PROMPT    ?= Once upon a time
FUZZTIME  ?= 20s

export BITNET_SHARED_DIR := $(SHARED)

.PHONY: all build ptx gpucheck demo test lint test-go test-kernels test-fuzz test-python python-test python-lib wheel venv clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bitnet

# The CUDA kernels as PTX, embedded by kernels/cuda/ptx.go; the recorded
# SHA-256 of kernels.cu lets a test notice a .cu change without `make ptx`.
NVCC      ?= nvcc
CUDA_DIR  := kernels/cuda
ptx:
	$(NVCC) -ptx -arch=compute_80 -fmad=false -O3 $(CUDA_DIR)/kernels.cu -o $(CUDA_DIR)/ptx/bitnet.ptx
	cd $(CUDA_DIR) && sha256sum kernels.cu > ptx/kernels.cu.sha256

# Everything scripts/gpu_check.sh needs on a GPU machine that has no Go: the
# gpu-tagged test binary of kernels/cuda, the benchmark program, and the
# small real models with their golden texts (copied from ../shared).
GPUCHECK  := .gpucheck
GPUASSETS := models/stories260K.bin models/bitllama2c-3M.bin models/tok512.model models/tok512.bin \
	gguf/stories260K-f32.gguf gguf/bit3M-bitnet-tq2_0.gguf \
	golden/stories260K.runc.greedy.txt golden/stories260K-f32.llamacpp.greedy.txt \
	golden/bitllama2c-3M.runbit.greedy.txt
gpucheck:
	if [ -d $(GPUCHECK) ]; then chmod -R u+w $(GPUCHECK); fi
	rm -rf $(GPUCHECK)
	mkdir -p $(GPUCHECK)/shared/assets
	$(GO) test -c -tags gpu -o $(GPUCHECK)/cuda.test ./$(CUDA_DIR)
	$(GO) build -o $(GPUCHECK)/gpubench ./$(CUDA_DIR)/cmd/gpubench
	cd $(ASSETS) && cp --parents --no-preserve=mode $(GPUASSETS) SHA256SUMS $(abspath $(GPUCHECK))/shared/assets/
	@du -sh $(GPUCHECK)

# The main job: a real trained ternary model (bitllama2c-3M, from ../shared)
# converted to GGUF with I2_S weights, then text generated from Python.
demo: $(VENV)/.pkg-stamp
	@mkdir -p $(BUILD)/models
	$(VPY) -m bitnet convert $(ASSETS)/models/bitllama2c-3M.bin $(BUILD)/models/bitllama2c-3M-i2_s.gguf --type i2_s --quiet
	$(VPY) examples/generate.py $(BUILD)/models/bitllama2c-3M-i2_s.gguf "$(PROMPT)"

test: lint test-go test-kernels test-fuzz test-python python-test

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(GO) test -count=1 ./...

# The engine's golden and parity tests once per kernel implementation this
# CPU offers (test-go ran the fastest): the plain Go kernels and each SIMD
# level must all give the real models' reference texts.
test-kernels: build
	@for k in $$($(BIN) version | sed -n 's/^kernels available: //p'); do \
		echo "engine tests with BITNET_KERNELS=$$k"; \
		BITNET_KERNELS=$$k BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(GO) test -count=1 ./engine/ || exit 1; \
	done

# A short run of each fuzz target (go test -fuzz takes one target at a time);
# their seed corpora also run in every plain `go test`.
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./formats/gguf/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=5s ./formats/llama2c/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=5s ./formats/sentencepiece/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=5s ./formats/safetensors/
	$(GO) test -run='^$$' -fuzz='^FuzzSPMDecodeInvertsEncode$$' -fuzztime=5s ./tokenize/
	$(GO) test -run='^$$' -fuzz='^FuzzLlama3SplitMatchesRegexReference$$' -fuzztime=5s ./tokenize/

$(VENV)/.stamp: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# The package, editable, with its test extras; its build compiles libbitnet.
$(VENV)/.pkg-stamp: $(VENV)/.stamp pyproject.toml setup.py
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(VENV)/.pkg-stamp

# Rebuilds libbitnet into python/bitnet/_lib (fast with a warm Go cache).
python-lib: $(VENV)/.pkg-stamp
	$(VPY) scripts/build_lib.py

# Cross-checks of the engine (through the Go-built CLI) against numpy and
# llama.cpp's gguf package, and tokenizers against HF tokenizers and
# sentencepiece.
test-python: build $(VENV)/.stamp
	BITNET_BIN=$(abspath $(BIN)) BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(VPY) -m pytest -q tests

# The Python package: API, errors, streaming, threads, fork, wheel.
python-test: python-lib
	BITNET_BIN= BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(VPY) -m pytest -q python/tests

wheel: $(VENV)/.pkg-stamp
	$(VPY) -m build --wheel --outdir $(BUILD)/dist .

clean:
	rm -rf $(BUILD) $(VENV) .pytest_cache python/build python/bitnet/_lib python/bitnet.egg-info
