package convert

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/llama2c"
	"github.com/bitnet-dev/bitnet/formats/sentencepiece"
	"github.com/bitnet-dev/bitnet/quant"
)

// Vocab is a SentencePiece-style vocabulary to embed in a GGUF file.
type Vocab struct {
	Tokens        []string
	Scores        []float32
	Types         []int32
	BOS, EOS, UNK int32
}

// LoadVocab reads a tokenizer for a llama2.c model of n tokens: a
// SentencePiece tokenizer.model, or llama2.c's tokenizer.bin format. The
// content decides, not the name: a tokenizer.bin starts with its maximum
// token length, a little-endian int32 of at most 1<<16, while a
// tokenizer.model starts with a piece field (0x0a), the piece's length and
// a non-zero field key, which read as an int32 exceed 1<<16.
func LoadVocab(path string, n int) (*Vocab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if len(b) >= 4 && b[0] == 0x0a && binary.LittleEndian.Uint32(b) > 1<<16 {
		sp, err := sentencepiece.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
		if len(sp.Pieces) != n {
			return nil, fmt.Errorf("tokenizer %s has %d pieces, the model %d: %w", path, len(sp.Pieces), n, errs.ErrModel)
		}
		return &Vocab{Tokens: sp.Pieces, Scores: sp.Scores, Types: sp.Types,
			BOS: int32(sp.BOSID), EOS: int32(sp.EOSID), UNK: int32(sp.UnkID)}, nil
	}
	v, err := llama2c.ParseVocab(b, n)
	if err != nil {
		return nil, fmt.Errorf("llama2c tokenizer %s: %w", path, err)
	}
	return &Vocab{Tokens: v.Tokens, Scores: v.Scores, Types: v.Types, BOS: 1, EOS: 2, UNK: 0}, nil
}

// FindVocab looks next to a llama2.c checkpoint for its tokenizer:
// tok<N>.model, tok<N>.bin, tokenizer.model, tokenizer.bin.
func FindVocab(modelPath string, n int) (string, error) {
	dir := filepath.Dir(modelPath)
	for _, name := range []string{fmt.Sprintf("tok%d.model", n), fmt.Sprintf("tok%d.bin", n), "tokenizer.model", "tokenizer.bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no tokenizer found next to %s (looked for tok%d.model, tok%d.bin, tokenizer.model, tokenizer.bin); pass one explicitly: %w",
		modelPath, n, n, errs.ErrInvalidArgument)
}

// FromLlama2c builds a GGUF writer for a llama2.c checkpoint: architecture
// `llama` for float checkpoints, `bitnet` for ternary ones (whose weightless
// norms become constant norm weights 1/n, whose q/k rows are permuted from
// adjacent-pair to rotate-half RoPE, and whose scales become ".scale"
// tensors or the I2_S tail). The writer reads m's weights when it is
// written: keep m open until then.
func FromLlama2c(m *llama2c.Model, vocab *Vocab, name string, opts Options) (*gguf.Writer, error) {
	c := m.Config
	ternary := m.Layout == llama2c.TernaryV1
	if ternary && !IsTernaryType(opts.Type) && opts.Type != quant.F32 && opts.Type != quant.F16 && opts.Type != quant.BF16 && opts.Type != quant.Q8_0 {
		return nil, fmt.Errorf("convert: type %v for a ternary model: use i2_s, tq2_0, tq1_0, f32, f16, bf16 or q8_0: %w", opts.Type, errs.ErrInvalidArgument)
	}
	if !ternary && IsTernaryType(opts.Type) {
		return nil, fmt.Errorf("convert: %s holds float weights of a `llama` model; %v would destroy it: %w", m.Layout, opts.Type, errs.ErrQuantization)
	}
	if vocab != nil && len(vocab.Tokens) != c.Vocab {
		return nil, fmt.Errorf("convert: tokenizer has %d tokens, the model %d: %w", len(vocab.Tokens), c.Vocab, errs.ErrModel)
	}
	if vocab != nil && (len(vocab.Scores) != len(vocab.Tokens) || len(vocab.Types) != len(vocab.Tokens)) {
		return nil, fmt.Errorf("convert: tokenizer has %d tokens but %d scores and %d types: %w", len(vocab.Tokens), len(vocab.Scores), len(vocab.Types), errs.ErrInvalidArgument)
	}
	h := Hyper{Arch: "llama", Context: c.SeqLen, Dim: c.Dim, Layers: c.Layers, FFN: c.Hidden, Heads: c.Heads,
		KVHeads: c.KVHeads, RopeDims: c.HeadDim(), Vocab: c.Vocab, Eps: 1e-5, RopeBase: 10000}
	if ternary {
		// bitllama2c's block norms have no epsilon. Even 1e-12 changes the
		// last bit of small sub-norm inputs, and greedy decoding drifts
		// from the reference after ~170 tokens; 0 reproduces it exactly.
		h.Arch, h.Eps = "bitnet", 0
	}
	if opts.Name != "" {
		name = opts.Name
	}
	w := gguf.NewWriter()
	if err := setHyper(w, h, name, opts.Type); err != nil {
		return nil, err
	}
	if ternary {
		// Its final norm does have eps 1e-5 (engine.KeyOutputNormEpsilon).
		if err := w.Set(h.Arch+".output_norm.layer_norm_rms_epsilon", float32(1e-5)); err != nil {
			return nil, err
		}
	}
	if vocab != nil {
		if err := setTokenizer(w, vocab.Tokens, vocab.Scores, vocab.Types, vocab.BOS, vocab.EOS, vocab.UNK); err != nil {
			return nil, err
		}
	}
	b := &builder{w: w, opts: opts}
	b.matrix("token_embd.weight", embedType(quant.F32, opts), c.Vocab, c.Dim, m.Embedding.Float32)
	b.vector("output_norm.weight", func() []float32 { return m.FinalNorm })
	if m.Classifier != nil {
		b.matrix("output.weight", embedType(quant.F32, opts), c.Vocab, c.Dim, m.Classifier.Float32)
	}
	constant := func(n int) func() []float32 {
		return func() []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = 1 / float32(n)
			}
			return v
		}
	}
	for l := range m.Layers {
		L := &m.Layers[l]
		p := fmt.Sprintf("blk.%d.", l)
		if ternary {
			b.vector(p+"attn_norm.weight", constant(c.Dim))
			b.vector(p+"ffn_norm.weight", constant(c.Dim))
			b.vector(p+"attn_sub_norm.weight", constant(c.Dim))
			b.vector(p+"ffn_sub_norm.weight", constant(c.Hidden))
		} else {
			b.vector(p+"attn_norm.weight", func() []float32 { return L.AttnNorm })
			b.vector(p+"ffn_norm.weight", func() []float32 { return L.FFNNorm })
		}
		for _, mt := range []struct {
			name string
			mat  *llama2c.Matrix
			rope bool
		}{
			{"attn_q", &L.Wq, true}, {"attn_k", &L.Wk, true}, {"attn_v", &L.Wv, false}, {"attn_output", &L.Wo, false},
			{"ffn_gate", &L.W1, false}, {"ffn_down", &L.W2, false}, {"ffn_up", &L.W3, false},
		} {
			mat, full := mt.mat, p+mt.name+".weight"
			if !ternary {
				b.matrix(full, opts.Type, mat.Rows, mat.Cols, mat.Float32)
				continue
			}
			// Codes are decoded when the tensor is written, so that only
			// one matrix at a time is held unpacked.
			scale := mat.Scale()
			rope := mt.rope
			b.ternary(p+mt.name, opts.Type, mat.Rows, mat.Cols, scale, func() []int8 {
				codes, _ := mat.Ternary()
				if rope {
					codes = adjacentToHalf(codes, mat.Rows, mat.Cols, c.HeadDim())
				}
				return codes
			})
		}
	}
	return w, b.err
}

// adjacentToHalf permutes the rows of a q or k matrix, head by head, so
// that RoPE's pairs (2i, 2i+1) become (i, i+headDim/2).
func adjacentToHalf(codes []int8, rows, cols, headDim int) []int8 {
	out := make([]int8, len(codes))
	half := headDim / 2
	for r := 0; r < rows; r++ {
		head, j := r/headDim, r%headDim
		dst := head*headDim + j/2
		if j%2 == 1 {
			dst += half
		}
		copy(out[dst*cols:(dst+1)*cols], codes[r*cols:(r+1)*cols])
	}
	return out
}

// builder adds tensors to a writer, remembering the first error. Tensor
// data is produced when the file is written, one tensor at a time.
type builder struct {
	w     *gguf.Writer
	opts  Options
	err   error
	total int
}

func (b *builder) add(name string, t quant.Type, dims []uint64, fill func(dst []byte) error) {
	if b.err != nil {
		return
	}
	b.total++
	// The writer fills tensors in the order they were added, so the
	// position of a tensor is the count of tensors done when it is. (A
	// running counter would keep counting when a file is written twice.)
	pos := b.total
	b.err = b.w.AddTensorFunc(name, t, dims, func(dst []byte) error {
		if err := fill(dst); err != nil {
			return err
		}
		if b.opts.Progress != nil {
			b.opts.Progress(pos, b.total, name)
		}
		return nil
	})
}

func (b *builder) vector(name string, vals func() []float32) {
	v := vals()
	b.add(name, quant.F32, []uint64{uint64(len(v))}, func(dst []byte) error { return quant.Quantize(quant.F32, v, dst) })
}

func (b *builder) matrix(name string, t quant.Type, rows, cols int, vals func() []float32) {
	if b.err == nil {
		b.err = checkTarget(t, name, rows, cols)
	}
	b.add(name, t, []uint64{uint64(cols), uint64(rows)}, func(dst []byte) error {
		return quant.Quantize(t, vals(), dst)
	})
}

// ternary adds "<base>.weight" from ternary codes with scale gamma, as
// type t, with a "<base>.scale" tensor where t does not hold the scale.
func (b *builder) ternary(base string, t quant.Type, rows, cols int, gamma float32, codes func() []int8) {
	name := base + ".weight"
	if b.err == nil {
		b.err = checkTarget(t, name, rows, cols)
	}
	if !IsTernaryType(t) {
		// Float targets: the codes as values, the scale as a .scale tensor.
		b.matrix(name, t, rows, cols, func() []float32 {
			c := codes()
			v := make([]float32, len(c))
			for i, x := range c {
				v[i] = float32(x)
			}
			return v
		})
		b.scalar(base+".scale", gamma)
		return
	}
	b.add(name, t, []uint64{uint64(cols), uint64(rows)}, func(dst []byte) error {
		data, _, err := encodeTernary(t, codes(), gamma, rows, cols)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		copy(dst, data)
		return nil
	})
	if t != quant.I2_S {
		b.scalar(base+".scale", gamma)
	}
}

func (b *builder) scalar(name string, v float32) {
	b.add(name, quant.F32, []uint64{1}, func(dst []byte) error { return quant.Quantize(quant.F32, []float32{v}, dst) })
}
