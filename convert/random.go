package convert

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/quant"
)

// Shapes are the named model shapes Random can write.
var Shapes = map[string]Hyper{
	// BitNet b1.58 2B-4T (microsoft/bitnet-b1.58-2B-4T).
	"2b4t": {Arch: "bitnet-b1.58", Context: 4096, Dim: 2560, Layers: 30, FFN: 6912, Heads: 20, KVHeads: 5,
		RopeDims: 128, Vocab: 128256, Eps: 1e-5, RopeBase: 500000},
	// 1bitLLM bitnet_b1_58-large.
	"large": {Arch: "bitnet", Context: 2048, Dim: 1536, Layers: 24, FFN: 4096, Heads: 16, KVHeads: 16,
		RopeDims: 96, Vocab: 32002, Eps: 1e-5, RopeBase: 10000},
	// A small model for tests.
	"tiny": {Arch: "bitnet-b1.58", Context: 256, Dim: 256, Layers: 2, FFN: 512, Heads: 4, KVHeads: 2,
		RopeDims: 64, Vocab: 512, Eps: 1e-5, RopeBase: 10000},
}

// ShapeNames lists the names of Shapes, sorted.
func ShapeNames() []string {
	var names []string
	for n := range Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Random builds a writer for a model of the named shape with random ternary
// linear layers of type opts.Type (i2_s, tq2_0, tq1_0, or a float type
// holding ternary values), a random embedding (F16 unless opts.EmbedType
// says otherwise), unit norms, and a synthetic SentencePiece-style
// vocabulary (byte tokens and placeholder pieces) so that text generation
// runs. The same seed gives the same file.
func Random(shape string, seed uint64, opts Options) (*gguf.Writer, error) {
	h, ok := Shapes[shape]
	if !ok {
		return nil, fmt.Errorf("unknown shape %q (known: %s): %w", shape, strings.Join(ShapeNames(), ", "), errs.ErrInvalidArgument)
	}
	et := quant.F16
	if opts.EmbedType != nil {
		et = *opts.EmbedType
	}
	name := opts.Name
	if name == "" {
		name = "random-" + shape
	}
	w := gguf.NewWriter()
	if err := setHyper(w, h, name, opts.Type); err != nil {
		return nil, err
	}
	tokens, scores, types := syntheticVocab(h.Vocab)
	if err := setTokenizer(w, tokens, scores, types, 1, 2, 0); err != nil {
		return nil, err
	}
	b := &builder{w: w, opts: opts}
	// Each tensor has its own stream, so tensors do not depend on order,
	// and each fill starts its stream afresh, so writing the same writer
	// twice gives the same file.
	stream := uint64(0)
	next := func() uint64 { stream++; return stream }
	rng := func(s uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, s)) }
	ones := func(n int) func() []float32 {
		return func() []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = 1
			}
			return v
		}
	}
	embStream := next()
	b.matrix("token_embd.weight", et, h.Vocab, h.Dim, func() []float32 {
		embRng := rng(embStream)
		v := make([]float32, h.Vocab*h.Dim)
		for i := range v {
			v[i] = float32(embRng.NormFloat64() * 0.02)
		}
		return v
	})
	b.vector("output_norm.weight", ones(h.Dim))
	kvDim := h.KVHeads * (h.Dim / h.Heads)
	for l := 0; l < h.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		b.vector(p+"attn_norm.weight", ones(h.Dim))
		b.vector(p+"ffn_norm.weight", ones(h.Dim))
		b.vector(p+"attn_sub_norm.weight", ones(h.Dim))
		b.vector(p+"ffn_sub_norm.weight", ones(h.FFN))
		for _, mt := range []struct {
			name       string
			rows, cols int
		}{
			{"attn_q", h.Dim, h.Dim}, {"attn_k", kvDim, h.Dim}, {"attn_v", kvDim, h.Dim}, {"attn_output", h.Dim, h.Dim},
			{"ffn_gate", h.FFN, h.Dim}, {"ffn_up", h.FFN, h.Dim}, {"ffn_down", h.Dim, h.FFN},
		} {
			s := next()
			// The first draw of the stream is the scale, the rest the codes.
			gamma := float32(0.5 + rng(s).Float64())
			rows, cols := mt.rows, mt.cols
			b.ternary(p+mt.name, opts.Type, rows, cols, gamma, func() []int8 {
				r := rng(s)
				r.Float64()
				return randomCodes(r, rows*cols)
			})
		}
		if b.err != nil {
			return nil, b.err
		}
	}
	return w, b.err
}

// randomCodes draws n ternary codes, 32 per random word (a 2-bit field of
// value 3 counts as 0, so zeros have probability 1/2).
func randomCodes(r *rand.Rand, n int) []int8 {
	codes := make([]int8, n)
	var word uint64
	for i := range codes {
		if i%32 == 0 {
			word = r.Uint64()
		}
		switch word & 3 {
		case 0:
			codes[i] = -1
		case 2:
			codes[i] = 1
		}
		word >>= 2
	}
	return codes
}

// syntheticVocab is a SentencePiece-style vocabulary of n tokens: <unk>,
// <s>, </s>, the 256 byte tokens, then placeholder words.
func syntheticVocab(n int) (tokens []string, scores []float32, types []int32) {
	tokens, scores, types = make([]string, n), make([]float32, n), make([]int32, n)
	for i := range tokens {
		switch {
		case i == 0:
			tokens[i], types[i] = "<unk>", 2
		case i <= 2:
			tokens[i], types[i] = []string{"", "<s>", "</s>"}[i], 3
		case i < 3+256:
			tokens[i], types[i] = fmt.Sprintf("<0x%02X>", i-3), 6
		default:
			tokens[i], types[i] = fmt.Sprintf("\u2581w%d", i), 1
			scores[i] = -float32(i)
		}
	}
	return tokens, scores, types
}
