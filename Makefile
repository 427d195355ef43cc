# bitnet: build, test and run.
#
#   make demo    build the CLI, convert a real ternary model from ../shared and generate text
#   make test    every test (Go, fuzz smoke run, Python cross-checks)
#
# Everything the targets need is installed by them: Go modules by the go
# command, Python packages into .venv from tests/requirements.txt.

GO        ?= go
PYTHON    ?= python3
SHARED    ?= $(abspath ../shared)
ASSETS    := $(SHARED)/assets
BUILD     := build
BIN       := $(BUILD)/bitnet
VENV      := .venv
PROMPT    ?= Once upon a time
FUZZTIME  ?= 20s

export BITNET_BIN := $(abspath $(BIN))
export BITNET_SHARED_DIR := $(SHARED)

.PHONY: all build demo test test-go test-fuzz test-python lint venv clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/bitnet

# The main job: a real trained ternary model (bitllama2c-3M, from ../shared)
# converted to GGUF with I2_S weights, then text generated from a prompt.
demo: build
	@mkdir -p $(BUILD)/models
	$(BIN) convert $(ASSETS)/models/bitllama2c-3M.bin $(BUILD)/models/bitllama2c-3M-i2_s.gguf --type i2_s --quiet
	$(BIN) generate --model $(BUILD)/models/bitllama2c-3M-i2_s.gguf --prompt "$(PROMPT)" --max-tokens 200 --temperature 0

test: lint test-go test-fuzz test-python

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(GO) test -count=1 ./...

# A short run of each fuzz target (go test -fuzz takes one target at a time);
# their seed corpora also run in every plain `go test`.
test-fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./formats/gguf/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=5s ./formats/llama2c/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=5s ./formats/sentencepiece/
	$(GO) test -run='^$$' -fuzz='^FuzzSPMDecodeInvertsEncode$$' -fuzztime=5s ./tokenize/

$(VENV)/.stamp: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.stamp

test-python: build venv
	BITNET_REQUIRE_ASSETS=$${BITNET_REQUIRE_ASSETS:-1} $(VENV)/bin/python -m pytest -q tests

clean:
	rm -rf $(BUILD) $(VENV) .pytest_cache
