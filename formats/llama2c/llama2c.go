// Package llama2c reads the checkpoint files of Karpathy's llama2.c and of
// the ternary bitllama2c variant, and llama2.c's tokenizer.bin files, into
// neutral descriptions (shapes and tensors) for converters.
//
// Three checkpoint layouts are recognised:
//   - legacy: a 28-byte header of 7 int32 (dim, hidden_dim, n_layers,
//     n_heads, n_kv_heads, vocab_size (negative: separate classifier),
//     seq_len), then float32 weights;
//   - ak42 version 1 float32 (llama2.c's export.py --version 1): a 256-byte
//     header, then float32 weights norms first;
//   - ak42 version 1 ternary (bitllama2c): the same header, then the final
//     norm, the embedding, and every linear matrix as a float32 scale plus
//     2-bit codes.
//
// The two ak42 version 1 layouts share magic and version; the file size
// tells them apart (exactly one of them matches).
package llama2c

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/internal/mmap"
)

// Magic is the first word of ak42 files ("ak42" little-endian).
const Magic = 0x616b3432

// Layout is the on-disk layout of a checkpoint.
type Layout int

// Layouts.
const (
	Legacy Layout = iota
	Float32V1
	TernaryV1
)

func (l Layout) String() string {
	names := [...]string{"llama2.c legacy float32", "llama2.c ak42 v1 float32", "bitllama2c ak42 v1 ternary"}
	if l < 0 || int(l) >= len(names) {
		return fmt.Sprintf("llama2c.Layout(%d)", int(l))
	}
	return names[l]
}

// Config is the model shape from the header.
type Config struct {
	Dim, Hidden, Layers, Heads, KVHeads, Vocab, SeqLen int
	SharedClassifier                                   bool
}

// HeadDim is the size of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// KVDim is the size of the keys (and values) of one position.
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim() }

// Matrix is a [Rows][Cols] weight matrix (outputs x inputs), kept as the
// file's bytes until decoded.
type Matrix struct {
	Rows, Cols int
	ternary    bool
	raw        []byte // float32 little-endian, or 2-bit codes
	scale      float32
}

// IsTernary reports whether the matrix holds ternary codes.
func (m *Matrix) IsTernary() bool { return m.ternary }

// Float32 decodes the matrix (ternary codes times their scale).
func (m *Matrix) Float32() []float32 {
	out := make([]float32, m.Rows*m.Cols)
	if !m.ternary {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.raw[4*i:]))
		}
		return out
	}
	codes, _ := m.Ternary() // validated at parse
	for i, c := range codes {
		out[i] = float32(c) * m.scale
	}
	return out
}

// Ternary returns the codes (-1, 0, +1, row-major) and scale of a ternary
// matrix; nil and 0 for a float matrix.
func (m *Matrix) Ternary() ([]int8, float32) {
	if !m.ternary {
		return nil, 0
	}
	codes := make([]int8, m.Rows*m.Cols)
	for i := range codes {
		codes[i] = codeValue[m.raw[i/4]>>(6-2*(i%4))&3]
	}
	return codes, m.scale
}

// Scale returns the scale of a ternary matrix (0 for a float matrix).
func (m *Matrix) Scale() float32 { return m.scale }

// 2-bit codes: 00 = 0, 01 = +1, 11 = -1 (10 is invalid, rejected at parse).
var codeValue = [4]int8{0, 1, 0, -1}

// Layer holds one transformer block. The norms are nil in ternary files,
// whose norms carry no weights.
type Layer struct {
	AttnNorm, FFNNorm          []float32
	Wq, Wk, Wv, Wo, W1, W2, W3 Matrix
}

// Model is a parsed checkpoint. Matrices refer to the mapped file until
// Close.
type Model struct {
	Config     Config
	Layout     Layout
	Embedding  Matrix // [Vocab][Dim]
	FinalNorm  []float32
	Classifier *Matrix // nil when shared with the embedding
	Layers     []Layer
	unmap      func() error
}

// Open maps and parses a checkpoint.
func Open(path string) (*Model, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("llama2c: open %s: %w", path, err)
	}
	m, err := Parse(data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, fmt.Errorf("llama2c: %s: %w", path, err)
	}
	m.unmap = unmap
	return m, nil
}

// Close releases the mapping.
func (m *Model) Close() error {
	if m.unmap != nil {
		u := m.unmap
		m.unmap = nil
		return u()
	}
	return nil
}

// Parse parses a checkpoint held in b; the model refers to b.
func Parse(b []byte) (*Model, error) {
	if len(b) < 28 {
		return nil, fmt.Errorf("file of %d bytes is too short for a llama2.c header: %w", len(b), errs.ErrFormat)
	}
	if binary.LittleEndian.Uint32(b) == Magic {
		return parseV1(b)
	}
	cfg, err := readConfig(b[:28])
	if err != nil {
		return nil, err
	}
	return parseFloat(b, 28, cfg, Legacy)
}

func readConfig(h []byte) (Config, error) {
	v := make([]int32, 7)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(h[4*i:]))
	}
	c := Config{Dim: int(v[0]), Hidden: int(v[1]), Layers: int(v[2]), Heads: int(v[3]), KVHeads: int(v[4]), Vocab: int(v[5]), SeqLen: int(v[6])}
	c.SharedClassifier = c.Vocab > 0
	if c.Vocab < 0 {
		c.Vocab = -c.Vocab
	}
	bad := func(what string, x, lim int) error {
		return fmt.Errorf("header: %s = %d is out of range (1..%d): %w", what, x, lim, errs.ErrFormat)
	}
	switch {
	case c.Dim <= 0 || c.Dim > 1<<16:
		return c, bad("dim", c.Dim, 1<<16)
	case c.Hidden <= 0 || c.Hidden > 1<<20:
		return c, bad("hidden_dim", c.Hidden, 1<<20)
	case c.Layers <= 0 || c.Layers > 1<<10:
		return c, bad("n_layers", c.Layers, 1<<10)
	case c.Heads <= 0 || c.Heads > c.Dim:
		return c, bad("n_heads", c.Heads, c.Dim)
	case c.KVHeads <= 0 || c.KVHeads > c.Heads:
		return c, bad("n_kv_heads", c.KVHeads, c.Heads)
	case c.Vocab <= 0 || c.Vocab > 1<<22:
		return c, bad("vocab_size", c.Vocab, 1<<22)
	case c.SeqLen <= 0 || c.SeqLen > 1<<22:
		return c, bad("seq_len", c.SeqLen, 1<<22)
	}
	if c.Dim%c.Heads != 0 || c.Heads%c.KVHeads != 0 || c.HeadDim()%2 != 0 {
		return c, fmt.Errorf("header: dim %d, %d heads, %d KV heads do not divide evenly into even head sizes: %w", c.Dim, c.Heads, c.KVHeads, errs.ErrFormat)
	}
	return c, nil
}

// reader hands out consecutive regions of the file.
type reader struct {
	b   []byte
	pos uint64
}

func (r *reader) take(n uint64, what string) ([]byte, error) {
	end, carry := bits.Add64(r.pos, n, 0)
	if carry != 0 || end > uint64(len(r.b)) {
		return nil, fmt.Errorf("%s: needs %d bytes at offset %d, file has %d (truncated): %w", what, n, r.pos, len(r.b), errs.ErrFormat)
	}
	s := r.b[r.pos:end]
	r.pos = end
	return s, nil
}

func (r *reader) floats(n int, what string) ([]float32, error) {
	raw, err := r.take(uint64(n)*4, what)
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

func (r *reader) floatMatrix(rows, cols int, what string) (Matrix, error) {
	raw, err := r.take(uint64(rows)*uint64(cols)*4, what)
	return Matrix{Rows: rows, Cols: cols, raw: raw}, err
}

func (r *reader) ternaryMatrix(rows, cols int, what string) (Matrix, error) {
	sc, err := r.floats(1, what+" scale")
	if err != nil {
		return Matrix{}, err
	}
	if math.IsNaN(float64(sc[0])) || math.IsInf(float64(sc[0]), 0) || sc[0] < 0 {
		return Matrix{}, fmt.Errorf("%s: scale %v is not a finite non-negative number: %w", what, sc[0], errs.ErrFormat)
	}
	n := uint64(rows) * uint64(cols)
	raw, err := r.take((n+3)/4, what+" codes")
	if err != nil {
		return Matrix{}, err
	}
	for i, v := range raw {
		for s := 0; s < 8; s += 2 {
			if v>>s&3 == 2 {
				return Matrix{}, fmt.Errorf("%s: byte %d holds the invalid 2-bit code 10: %w", what, i, errs.ErrFormat)
			}
		}
	}
	return Matrix{Rows: rows, Cols: cols, ternary: true, raw: raw, scale: sc[0]}, nil
}

// sizes returns the byte size of the weights after the header for the
// float and the ternary layouts.
func sizes(c Config) (float, ternary uint64) {
	d, h, l, v := uint64(c.Dim), uint64(c.Hidden), uint64(c.Layers), uint64(c.Vocab)
	kv := uint64(c.KVDim())
	mats := l * (2*d*d + 2*d*kv + 3*d*h)
	float = 4 * (v*d + 2*l*d + mats + d)
	if !c.SharedClassifier {
		float += 4 * v * d
	}
	codes := l * (2*((d*d+3)/4) + 2*((d*kv+3)/4) + 3*((d*h+3)/4))
	ternary = 4*d + 4*v*d + 4*7*l + codes
	return float, ternary
}

const v1Header = 256

func parseV1(b []byte) (*Model, error) {
	if len(b) < v1Header {
		return nil, fmt.Errorf("ak42 header: file of %d bytes is shorter than the 256-byte header: %w", len(b), errs.ErrFormat)
	}
	if v := int32(binary.LittleEndian.Uint32(b[4:])); v != 1 {
		return nil, fmt.Errorf("ak42 version %d is not supported (only version 1: float32 or bitllama2c ternary): %w", v, errs.ErrUnsupported)
	}
	cfg, err := readConfig(b[8:36])
	if err != nil {
		return nil, err
	}
	if !cfg.SharedClassifier {
		// Version 1 headers store the vocabulary size as is and say
		// whether the classifier is shared in a flag byte.
		return nil, fmt.Errorf("ak42 header: vocab_size = -%d is out of range (1..%d): %w", cfg.Vocab, 1<<22, errs.ErrFormat)
	}
	if b[36] > 1 {
		return nil, fmt.Errorf("ak42 header: shared_classifier flag is %d, not 0 or 1: %w", b[36], errs.ErrFormat)
	}
	cfg.SharedClassifier = b[36] == 1
	fsz, tsz := sizes(cfg)
	body := uint64(len(b) - v1Header)
	switch body {
	case fsz:
		return parseFloat(b, v1Header, cfg, Float32V1)
	case tsz:
		if !cfg.SharedClassifier {
			// bitllama2c always ties the classifier: more likely a
			// truncated float32 file than a ternary one.
			return nil, fmt.Errorf("ak42 v1: %d bytes of weights match only the ternary layout, but shared_classifier is 0 and ternary files always share the classifier (truncated float32 file?): %w", body, errs.ErrFormat)
		}
		return parseTernary(b, cfg)
	}
	return nil, fmt.Errorf("ak42 v1: %d bytes of weights match neither the float32 layout (%d) nor the ternary layout (%d) for this header (truncated or wrong shape): %w",
		body, fsz, tsz, errs.ErrFormat)
}

func parseFloat(b []byte, off uint64, c Config, layout Layout) (*Model, error) {
	r := &reader{b: b, pos: off}
	m := &Model{Config: c, Layout: layout, Layers: make([]Layer, c.Layers)}
	d, h, kv := c.Dim, c.Hidden, c.KVDim()
	var err error
	norms := func(get func(*Layer) *[]float32, what string) error {
		for l := range m.Layers {
			if *get(&m.Layers[l]), err = r.floats(d, fmt.Sprintf("layer %d %s", l, what)); err != nil {
				return err
			}
		}
		return nil
	}
	mats := func(get func(*Layer) *Matrix, rows, cols int, what string) error {
		for l := range m.Layers {
			if *get(&m.Layers[l]), err = r.floatMatrix(rows, cols, fmt.Sprintf("layer %d %s", l, what)); err != nil {
				return err
			}
		}
		return nil
	}
	if layout == Legacy {
		if m.Embedding, err = r.floatMatrix(c.Vocab, d, "token embedding"); err != nil {
			return nil, err
		}
	}
	if err = norms(func(L *Layer) *[]float32 { return &L.AttnNorm }, "attention norm"); err != nil {
		return nil, err
	}
	if layout == Float32V1 {
		if err = norms(func(L *Layer) *[]float32 { return &L.FFNNorm }, "ffn norm"); err != nil {
			return nil, err
		}
		if m.FinalNorm, err = r.floats(d, "final norm"); err != nil {
			return nil, err
		}
		if m.Embedding, err = r.floatMatrix(c.Vocab, d, "token embedding"); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		get        func(*Layer) *Matrix
		rows, cols int
		what       string
	}{
		{func(L *Layer) *Matrix { return &L.Wq }, d, d, "wq"},
		{func(L *Layer) *Matrix { return &L.Wk }, kv, d, "wk"},
		{func(L *Layer) *Matrix { return &L.Wv }, kv, d, "wv"},
		{func(L *Layer) *Matrix { return &L.Wo }, d, d, "wo"},
	} {
		if err = mats(s.get, s.rows, s.cols, s.what); err != nil {
			return nil, err
		}
	}
	if layout == Legacy {
		if err = norms(func(L *Layer) *[]float32 { return &L.FFNNorm }, "ffn norm"); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		get        func(*Layer) *Matrix
		rows, cols int
		what       string
	}{
		{func(L *Layer) *Matrix { return &L.W1 }, h, d, "w1"},
		{func(L *Layer) *Matrix { return &L.W2 }, d, h, "w2"},
		{func(L *Layer) *Matrix { return &L.W3 }, h, d, "w3"},
	} {
		if err = mats(s.get, s.rows, s.cols, s.what); err != nil {
			return nil, err
		}
	}
	if layout == Legacy {
		if m.FinalNorm, err = r.floats(d, "final norm"); err != nil {
			return nil, err
		}
		// Precomputed RoPE tables of old exports; unused.
		if _, err = r.take(uint64(c.SeqLen)*uint64(c.HeadDim())*4, "rope tables"); err != nil {
			return nil, err
		}
	}
	if !c.SharedClassifier {
		cls, err := r.floatMatrix(c.Vocab, d, "classifier")
		if err != nil {
			return nil, err
		}
		m.Classifier = &cls
	}
	if r.pos != uint64(len(b)) {
		return nil, fmt.Errorf("%d unexpected bytes after the weights: %w", uint64(len(b))-r.pos, errs.ErrFormat)
	}
	return m, nil
}

func parseTernary(b []byte, c Config) (*Model, error) {
	r := &reader{b: b, pos: v1Header}
	m := &Model{Config: c, Layout: TernaryV1, Layers: make([]Layer, c.Layers)}
	d, h, kv := c.Dim, c.Hidden, c.KVDim()
	var err error
	if m.FinalNorm, err = r.floats(d, "final norm"); err != nil {
		return nil, err
	}
	if m.Embedding, err = r.floatMatrix(c.Vocab, d, "token embedding"); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		get        func(*Layer) *Matrix
		rows, cols int
		what       string
	}{
		{func(L *Layer) *Matrix { return &L.Wq }, d, d, "wq"},
		{func(L *Layer) *Matrix { return &L.Wk }, kv, d, "wk"},
		{func(L *Layer) *Matrix { return &L.Wv }, kv, d, "wv"},
		{func(L *Layer) *Matrix { return &L.Wo }, d, d, "wo"},
		{func(L *Layer) *Matrix { return &L.W1 }, h, d, "w1"},
		{func(L *Layer) *Matrix { return &L.W2 }, d, h, "w2"},
		{func(L *Layer) *Matrix { return &L.W3 }, h, d, "w3"},
	} {
		for l := range m.Layers {
			if *s.get(&m.Layers[l]), err = r.ternaryMatrix(s.rows, s.cols, fmt.Sprintf("layer %d %s", l, s.what)); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
