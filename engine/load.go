package engine

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/source"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/kernels/cuda"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// Options configure loading a model.
type Options struct {
	// Threads is the number of compute threads; 0 means the value of
	// BITNET_NUM_THREADS, else one per CPU.
	Threads int
	// ContextLength is the number of positions each session holds; 0
	// means the model's own context length, capped at
	// DefaultContextLength (float32 KV caches of long-context models
	// would otherwise take tens of GiB).
	ContextLength int
	// Device selects where the model runs (the zero value: automatic).
	Device Device
	// Kernels names the kernel implementation (kernels.Available(): "go",
	// "avx2", "avx512", ...); "" means BITNET_KERNELS, else the fastest.
	Kernels string
	// Backend overrides the kernel implementation (tests use it); nil
	// selects one by Kernels.
	Backend func(pool *kernels.Pool) kernels.Backend
}

// DefaultContextLength caps the context of a session when Options does not
// set one.
const DefaultContextLength = 4096

// Model is a loaded model: its weights (in place in the mapped file where
// the layout allows), tokenizer and kernels. Sessions created from it hold
// the per-conversation state. A Model is safe for use by several sessions,
// but their forward passes run one at a time.
type Model struct {
	Hyper     Hyperparams
	Info      Info
	Tokenizer tokenize.Tokenizer // nil when the file carries none

	spec     archSpec
	file     *source.Source
	pool     *kernels.Pool
	backend  kernels.Backend
	rope     *kernels.RopeTable
	ctxLen   int
	tokEmbd  *kernels.Matrix
	outNorm  []float32
	output   *kernels.Matrix
	layers   []layer
	loadTime time.Duration
	// stopTokens end generation by default.
	stopTokens []int32
	device     Device
	// gpu holds the weights on the GPU when device is CUDA (gpu.go).
	gpu *cuda.Model
	// mu makes Close wait for forward passes in flight: they hold it
	// for reading.
	mu sync.RWMutex
}

// SetTokenizer replaces the model's tokenizer (for one loaded from another
// file); its vocabulary must fit the model's.
func (m *Model) SetTokenizer(t tokenize.Tokenizer) error {
	if t == nil {
		return fmt.Errorf("set tokenizer: nil tokenizer: %w", errs.ErrInvalidArgument)
	}
	if t.VocabSize() > m.Hyper.Vocab {
		return fmt.Errorf("tokenizer has %d tokens, the model only %d: %w", t.VocabSize(), m.Hyper.Vocab, errs.ErrModel)
	}
	m.Tokenizer = t
	m.stopTokens = endOfGeneration(m.file.Metadata, t, m.Hyper.Vocab)
	return nil
}

// Device is the device the model runs on.
func (m *Model) Device() Device { return m.device }

// Source is what the model was loaded from (metadata and tensor table).
func (m *Model) Source() *source.Source { return m.file }

type layer struct {
	attnNorm, attnSubNorm, ffnNorm, ffnSubNorm []float32
	wq, wk, wv, wo, gate, up, down             *kernels.Matrix
}

// Load opens a model: a GGUF file, or a Hugging Face model folder or
// .safetensors file (see LoadHF).
func Load(path string, opts Options) (*Model, error) {
	if isHFModel(path) {
		return LoadHF(path, opts, hf.Options{})
	}
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err) // names the path
	}
	m, err := FromGGUF(f, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	m.loadTime = time.Since(start)
	m.Info.Path = path
	return m, nil
}

// FromGGUF builds a model over a parsed file. The model owns f from then on
// and closes it in Close.
func FromGGUF(f *gguf.File, opts Options) (*Model, error) {
	return FromSource(source.FromGGUF(f), opts)
}

// FromSource builds a model over a source. The model owns it from then on
// and closes it in Close (also when FromSource fails).
func FromSource(src *source.Source, opts Options) (m *Model, err error) {
	defer func() {
		if err != nil {
			src.Release()
		}
	}()
	f := src
	arch := f.Architecture()
	spec, ok := archSpecs[arch]
	if !ok {
		return nil, fmt.Errorf("architecture %q is not supported (supported: %v): %w", arch, Architectures(), errs.ErrUnsupported)
	}
	hp, err := readHyperparams(f.Metadata, arch)
	if err != nil {
		return nil, err
	}
	if opts.ContextLength < 0 || opts.Threads < 0 {
		return nil, fmt.Errorf("negative context length or thread count: %w", errs.ErrInvalidArgument)
	}
	dev, err := resolveDevice(opts.Device)
	if err != nil {
		return nil, err
	}
	m = &Model{Hyper: hp, spec: spec, file: f, device: dev}
	ld := loader{f: f, spec: spec}
	if err := m.loadWeights(&ld); err != nil {
		return nil, err
	}
	if m.Hyper.Vocab == 0 {
		m.Hyper.Vocab = m.output.Rows
	}
	if m.output.Rows != m.Hyper.Vocab || m.tokEmbd.Rows != m.Hyper.Vocab {
		return nil, fmt.Errorf("vocabulary size %d disagrees with token_embd (%d rows) or output (%d rows): %w",
			m.Hyper.Vocab, m.tokEmbd.Rows, m.output.Rows, errs.ErrModel)
	}
	if tok, terr := tokenize.FromGGUF(f.Metadata); terr == nil {
		if tok.VocabSize() > m.Hyper.Vocab {
			return nil, fmt.Errorf("tokenizer has %d tokens, the model only %d: %w", tok.VocabSize(), m.Hyper.Vocab, errs.ErrModel)
		}
		m.Tokenizer = tok
		m.stopTokens = endOfGeneration(f.Metadata, tok, m.Hyper.Vocab)
	} else if f.Metadata.Has("tokenizer.ggml.model") {
		return nil, fmt.Errorf("tokenizer: %w", terr)
	}

	m.ctxLen = min(hp.ContextLength, DefaultContextLength)
	if opts.ContextLength > 0 {
		m.ctxLen = opts.ContextLength
	}
	if m.ctxLen > maxContext {
		return nil, fmt.Errorf("context length %d exceeds %d: %w", m.ctxLen, maxContext, errs.ErrInvalidArgument)
	}
	m.rope = kernels.NewRopeTable(hp.RopeBase, hp.RopeDims, spec.rope)
	threads := opts.Threads
	if threads == 0 {
		threads = threadsFromEnv()
	}
	m.pool = kernels.NewPool(threads)
	if opts.Backend != nil {
		m.backend = opts.Backend(m.pool)
	} else {
		name := opts.Kernels
		if name == "" {
			name = os.Getenv("BITNET_KERNELS")
		}
		if m.backend, err = kernels.New(m.pool, name); err != nil {
			m.pool.Close()
			return nil, err
		}
	}
	if dev.Kind == DeviceCUDA {
		if err := m.attachGPU(); err != nil {
			m.pool.Close()
			return nil, err
		}
	}
	m.Info = newInfo(m)
	return m, nil
}

// endOfGeneration lists the tokens that end generation: the tokenizer's
// EOS and the end-of-turn / end-of-message tokens the metadata names.
func endOfGeneration(md *gguf.Metadata, tok tokenize.Tokenizer, vocab int) []int32 {
	ids := tokenize.EndOfGeneration(tok)
	for _, key := range []string{"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"} {
		if v, ok := md.Uint(key); ok && v < uint64(vocab) && !slices.Contains(ids, int32(v)) {
			ids = append(ids, int32(v))
		}
	}
	return ids
}

// threadsFromEnv reads BITNET_NUM_THREADS (0 when unset or invalid, which
// NewPool takes as one per CPU).
func threadsFromEnv() int {
	n, err := strconv.Atoi(os.Getenv("BITNET_NUM_THREADS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Close releases the model's threads and file mapping, after waiting for
// forward passes in flight. Sessions of the model fail with errs.ErrClosed
// afterwards. Close may be called more than once.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closeGPU()
	if m.pool != nil {
		m.pool.Close()
		m.pool = nil
	}
	if m.file != nil {
		err := m.file.Release()
		m.file = nil
		return err
	}
	return nil
}

// ContextLength is the number of positions a session can hold.
func (m *Model) ContextLength() int { return m.ctxLen }

// Backend returns the kernels in use.
func (m *Model) Backend() kernels.Backend { return m.backend }

// LoadTime is how long Load took.
func (m *Model) LoadTime() time.Duration { return m.loadTime }

func (m *Model) loadWeights(ld *loader) error {
	hp := &m.Hyper
	var err error
	embd, ok := ld.f.Tensor("token_embd.weight")
	if !ok {
		return fmt.Errorf("tensor token_embd.weight missing: %w", errs.ErrModel)
	}
	if len(embd.Dims) != 2 || embd.Dims[0] != uint64(hp.Dim) || embd.Dims[1] == 0 || embd.Dims[1] > maxVocab {
		return fmt.Errorf("tensor token_embd.weight has shape %v, want [%d, vocab]: %w", embd.Dims, hp.Dim, errs.ErrModel)
	}
	vocab := int(embd.Dims[1])
	if m.tokEmbd, err = ld.plainMatrix("token_embd", vocab, hp.Dim); err != nil {
		return err
	}
	if !canLookupRows(m.tokEmbd.Type) {
		return fmt.Errorf("token_embd.weight: rows of type %v cannot be looked up: %w", m.tokEmbd.Type, errs.ErrUnsupported)
	}
	if _, ok := ld.f.Tensor("output.weight"); ok {
		if m.output, err = ld.plainMatrix("output", vocab, hp.Dim); err != nil {
			return err
		}
	} else {
		m.output = m.tokEmbd
	}
	if m.outNorm, err = ld.vector("output_norm.weight", hp.Dim); err != nil {
		return err
	}
	kvDim := hp.KVHeads * hp.HeadDim
	m.layers = make([]layer, hp.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		vecs := []struct {
			dst      *[]float32
			name     string
			n        int
			required bool
		}{
			{&L.attnNorm, "attn_norm", hp.Dim, true},
			{&L.ffnNorm, "ffn_norm", hp.Dim, true},
			{&L.attnSubNorm, "attn_sub_norm", hp.Dim, m.spec.subNorms},
			{&L.ffnSubNorm, "ffn_sub_norm", hp.FFN, m.spec.subNorms},
		}
		for _, v := range vecs {
			name := p + v.name + ".weight"
			if _, ok := ld.f.Tensor(name); !ok && !v.required {
				continue
			}
			if *v.dst, err = ld.vector(name, v.n); err != nil {
				return err
			}
		}
		mats := []struct {
			dst        **kernels.Matrix
			name       string
			rows, cols int
		}{
			{&L.wq, "attn_q", hp.Dim, hp.Dim},
			{&L.wk, "attn_k", kvDim, hp.Dim},
			{&L.wv, "attn_v", kvDim, hp.Dim},
			{&L.wo, "attn_output", hp.Dim, hp.Dim},
			{&L.gate, "ffn_gate", hp.FFN, hp.Dim},
			{&L.up, "ffn_up", hp.FFN, hp.Dim},
			{&L.down, "ffn_down", hp.Dim, hp.FFN},
		}
		for _, mt := range mats {
			if *mt.dst, err = ld.linear(p+mt.name, mt.rows, mt.cols); err != nil {
				return err
			}
		}
	}
	return nil
}

func canLookupRows(t quant.Type) bool {
	info, ok := quant.Lookup(t)
	return ok && info.CanDequantize() && t != quant.I2_S
}

// loader maps tensors of a source onto kernel matrices.
type loader struct {
	f    *source.Source
	spec archSpec
}

// tensor2D returns the tensor name, checked to be rows x cols.
func (ld *loader) tensor2D(name string, rows, cols int) (*gguf.TensorInfo, error) {
	t, ok := ld.f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s missing: %w", name, errs.ErrModel)
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(cols) || t.Dims[1] != uint64(rows) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d, %d]: %w", name, t.Dims, cols, rows, errs.ErrModel)
	}
	return t, nil
}

// vector reads a 1-D float tensor of n elements.
func (ld *loader) vector(name string, n int) ([]float32, error) {
	t, ok := ld.f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s missing: %w", name, errs.ErrModel)
	}
	if t.Elements() != uint64(n) || t.Dims[0] != uint64(n) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d]: %w", name, t.Dims, n, errs.ErrModel)
	}
	out := make([]float32, n)
	if err := quant.Dequantize(t.Type, ld.f.Data(t), out); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return out, nil
}

// scale reads the optional per-matrix scalar "<base>.scale" (1 if absent).
func (ld *loader) scale(base string) (float32, error) {
	name := base + ".scale"
	t, ok := ld.f.Tensor(name)
	if !ok {
		return 1, nil
	}
	if t.Elements() != 1 {
		return 0, fmt.Errorf("tensor %s has %d elements, want 1: %w", name, t.Elements(), errs.ErrModel)
	}
	v := make([]float32, 1)
	if err := quant.Dequantize(t.Type, ld.f.Data(t), v); err != nil {
		return 0, fmt.Errorf("tensor %s: %w", name, err)
	}
	if math.IsNaN(float64(v[0])) || math.IsInf(float64(v[0]), 0) {
		return 0, fmt.Errorf("tensor %s is %v: %w", name, v[0], errs.ErrModel)
	}
	return v[0], nil
}

// plainMatrix maps "<base>.weight" as stored (embeddings, output head).
func (ld *loader) plainMatrix(base string, rows, cols int) (*kernels.Matrix, error) {
	t, err := ld.tensor2D(base+".weight", rows, cols)
	if err != nil {
		return nil, err
	}
	s, err := ld.scale(base)
	if err != nil {
		return nil, err
	}
	return kernels.NewMatrix(t.Name, t.Type, rows, cols, ld.f.Data(t), s)
}

// linear maps the weight of a linear layer. In BitNet architectures, float
// weights become ternary: exactly when their values are already {-a, 0, a}
// (what converters write), by absmean ternarization otherwise.
func (ld *loader) linear(base string, rows, cols int) (*kernels.Matrix, error) {
	t, err := ld.tensor2D(base+".weight", rows, cols)
	if err != nil {
		return nil, err
	}
	if kernels.IsTernary(t.Type) || !ld.spec.bitLinear {
		return ld.plainMatrix(base, rows, cols)
	}
	s, err := ld.scale(base)
	if err != nil {
		return nil, err
	}
	if cols%quant.I2SBlock != 0 {
		return nil, fmt.Errorf("tensor %s: BitNet rows of %d weights are not a multiple of %d: %w", t.Name, cols, quant.I2SBlock, errs.ErrUnsupported)
	}
	w := make([]float32, rows*cols)
	if err := quant.Dequantize(t.Type, ld.f.Data(t), w); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	codes := make([]int8, len(w))
	gamma, ok := quant.TernaryValues(w, codes)
	if !ok {
		gamma = quant.AbsmeanTernarize(w, codes)
	}
	packed := make([]byte, len(w)/4+quant.I2STail)
	if err := quant.PackI2S(codes, gamma, packed); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", t.Name, err)
	}
	return kernels.NewMatrix(t.Name, quant.I2_S, rows, cols, packed, s)
}
