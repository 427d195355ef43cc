// Package tokenize turns text into token ids and back.
//
// Tokenizer is the interface every implementation satisfies; the two here
// also satisfy Inspector (piece lookup, all special ids, chat template,
// Info). SPM is the SentencePiece-style tokenizer of llama.cpp
// (llm_tokenizer_spm, GGUF tokenizer.ggml.model = "llama"), also built from
// SentencePiece tokenizer.model files. BPE is byte-level BPE (GPT-2 / Llama-3,
// GGUF model "gpt2"), built from GGUF metadata, Hugging Face tokenizer.json
// or tiktoken rank files, with hand-written pre-tokenizers for Llama-3's and
// GPT-2's split patterns. Both reproduce their reference implementations'
// ids (llama.cpp, SentencePiece, Hugging Face tokenizers).
//
// Load picks the loader from a file's content; FromGGUF, FromHFJSON,
// ParseHFJSON, FromSentencePiece and FromTiktoken read one kind each.
// StreamDecoder turns ids into text one at a time for streaming output;
// EncodeLines and DecodeLines serve batches to other processes.
package tokenize

// Tokenizer turns text into token ids and back.
//
// Implementations are immutable after construction and safe for concurrent
// use.
type Tokenizer interface {
	// Encode splits text into token ids.
	Encode(text string, opts EncodeOptions) ([]int32, error)
	// Decode turns ids back into text. Byte tokens may produce invalid
	// UTF-8 in the result; the bytes are kept as they are.
	Decode(ids []int32, opts DecodeOptions) (string, error)
	// TokenToPiece returns the raw piece as stored in the vocabulary
	// (e.g. "▁the", "<0x0A>").
	TokenToPiece(id int32) (string, error)
	// VocabSize is the number of tokens.
	VocabSize() int
	// BOS is the beginning-of-sequence id, -1 when none.
	BOS() int32
	// EOS is the end-of-sequence id, -1 when none.
	EOS() int32
	// IsControl reports whether id is a control/special token (type 3),
	// BOS and EOS included.
	IsControl(id int32) bool
	// Kind names the algorithm ("spm" for SentencePiece-style, "bpe" for
	// byte-level BPE).
	Kind() string
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddBOS prepends the BOS token (an error when the vocabulary has none).
	AddBOS bool
	// AddEOS appends the EOS token (an error when the vocabulary has none).
	AddEOS bool
	// ParseSpecial matches the texts of control and unknown tokens (e.g.
	// "<s>", "</s>", "<unk>", "<|eot_id|>") in the input and emits their
	// ids; when false those texts are tokenized as plain text. User-defined
	// tokens (type 4; non-special added tokens of tokenizer.json) are always
	// matched, as llama.cpp and Hugging Face tokenizers do. SPM matches the
	// longest token first over the whole text (llama.cpp); BPE the leftmost
	// match, the longest of those starting there (Hugging Face).
	ParseSpecial bool
}

// DecodeOptions controls Decode and StreamDecoder.
type DecodeOptions struct {
	// SkipSpecial drops control and unknown tokens (BOS and EOS included)
	// instead of writing their piece text.
	SkipSpecial bool
	// StripLeadingSpace removes one leading space from the first piece that
	// produces text, when it starts with one: the space that Encode's
	// space prefix added (sentencepiece's behaviour after BOS; see
	// SPM.Decode for SentencePiece's variants). Tokenizers that add no such
	// space (byte-level BPE without add_prefix_space) ignore it.
	StripLeadingSpace bool
}

// Token types as stored in tokenizer.ggml.token_type.
const (
	TokenTypeUndefined   int32 = 0
	TokenTypeNormal      int32 = 1
	TokenTypeUnknown     int32 = 2
	TokenTypeControl     int32 = 3
	TokenTypeUserDefined int32 = 4
	TokenTypeUnused      int32 = 5
	TokenTypeByte        int32 = 6
)

// DefaultEncodeOptions returns the encode options the vocabulary asks for
// (GGUF tokenizer.ggml.add_bos_token / add_eos_token), with ParseSpecial
// false. A tokenizer that does not say gets AddBOS when it has a BOS token.
func DefaultEncodeOptions(t Tokenizer) EncodeOptions {
	if d, ok := t.(interface{ DefaultEncodeOptions() EncodeOptions }); ok {
		return d.DefaultEncodeOptions()
	}
	return EncodeOptions{AddBOS: t.BOS() >= 0}
}
