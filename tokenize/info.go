package tokenize

import "slices"

// Inspector is what every tokenizer of this package offers beyond
// Tokenizer: piece lookup, all special ids, the chat template and a
// description. Code that accepts any Tokenizer can use the package
// functions LookupToken, Describe and EndOfGeneration, which fall back
// sensibly for other implementations.
type Inspector interface {
	Tokenizer
	// TokenToID returns the id of a piece as stored in the vocabulary.
	TokenToID(piece string) (int32, bool)
	// EOT is the end-of-turn id (e.g. <|eot_id|>), -1 when none.
	EOT() int32
	// EOM is the end-of-message id (e.g. <|eom_id|>), -1 when none.
	EOM() int32
	// PAD is the padding id, -1 when none.
	PAD() int32
	// UNK is the unknown-token id, -1 when none.
	UNK() int32
	// ChatTemplate is the Jinja chat template that came with the
	// vocabulary, "" when none.
	ChatTemplate() string
	// Info describes the tokenizer.
	Info() Info
}

// Sources of a tokenizer (Info.Source).
const (
	SourceGGUF          = "gguf"
	SourceHFJSON        = "tokenizer.json"
	SourceSentencePiece = "tokenizer.model"
	SourceTiktoken      = "tiktoken"
)

// Info describes a tokenizer (for listings and the API's TokenizerInfo).
type Info struct {
	// Kind is the algorithm: "spm" (SentencePiece-style) or "bpe"
	// (byte-level BPE).
	Kind string `json:"kind"`
	// PreTokenizer is the BPE split ("llama3", "gpt2", "default"), "" for
	// SPM.
	PreTokenizer string `json:"pre_tokenizer,omitempty"`
	// VocabSize is the number of tokens.
	VocabSize int `json:"vocab_size"`
	// Source is where the vocabulary came from (Source* constants), "" when
	// built in code.
	Source string `json:"source,omitempty"`
	// BOS, EOS, EOT, EOM, PAD and UNK are the special ids, -1 when absent.
	BOS int32 `json:"bos"`
	EOS int32 `json:"eos"`
	EOT int32 `json:"eot"`
	EOM int32 `json:"eom"`
	PAD int32 `json:"pad"`
	UNK int32 `json:"unk"`
	// AddBOS and AddEOS are the defaults of DefaultEncodeOptions.
	AddBOS bool `json:"add_bos"`
	AddEOS bool `json:"add_eos"`
	// HasChatTemplate tells whether ChatTemplate is not empty.
	HasChatTemplate bool `json:"has_chat_template"`
}

// meta holds what loaders add to a tokenizer besides its vocabulary.
type meta struct {
	eot, eom     int32
	chatTemplate string
	source       string
}

func newMeta() meta { return meta{eot: -1, eom: -1} }

// EOT is the end-of-turn id, -1 when none.
func (m *meta) EOT() int32 { return m.eot }

// EOM is the end-of-message id, -1 when none.
func (m *meta) EOM() int32 { return m.eom }

// ChatTemplate is the chat template of the vocabulary, "" when none.
func (m *meta) ChatTemplate() string { return m.chatTemplate }

func (m *meta) info(kind, pre string, n int, bos, eos, pad, unk int32, def EncodeOptions) Info {
	return Info{Kind: kind, PreTokenizer: pre, VocabSize: n, Source: m.source,
		BOS: bos, EOS: eos, EOT: m.eot, EOM: m.eom, PAD: pad, UNK: unk,
		AddBOS: def.AddBOS, AddEOS: def.AddEOS, HasChatTemplate: m.chatTemplate != ""}
}

// eotNames and eomNames are the pieces taken as end of turn / end of
// message when the vocabulary does not name its ids (llama.cpp's list).
var (
	eotNames = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>"}
	eomNames = []string{"<|eom_id|>"}
)

// detectSpecial returns the first of names that is a control or
// user-defined token, -1 if none.
func detectSpecial(ids map[string]int32, typeOf func(int) int32, names []string) int32 {
	for _, name := range names {
		if id, ok := ids[name]; ok {
			if typ := typeOf(int(id)); typ == TokenTypeControl || typ == TokenTypeUserDefined {
				return id
			}
		}
	}
	return -1
}

// LookupToken returns the id of a piece: TokenToID for the tokenizers of
// this package, otherwise a linear search through TokenToPiece.
func LookupToken(t Tokenizer, piece string) (int32, bool) {
	if in, ok := t.(Inspector); ok {
		return in.TokenToID(piece)
	}
	for id := range t.VocabSize() {
		if p, err := t.TokenToPiece(int32(id)); err == nil && p == piece {
			return int32(id), true
		}
	}
	return -1, false
}

// Describe returns t's Info; for a Tokenizer of another package, what the
// Tokenizer interface tells (EOT, EOM, PAD and UNK -1).
func Describe(t Tokenizer) Info {
	if in, ok := t.(Inspector); ok {
		return in.Info()
	}
	def := DefaultEncodeOptions(t)
	return Info{Kind: t.Kind(), VocabSize: t.VocabSize(), BOS: t.BOS(), EOS: t.EOS(),
		EOT: -1, EOM: -1, PAD: -1, UNK: -1, AddBOS: def.AddBOS, AddEOS: def.AddEOS}
}

// endOfGenerationNames are control pieces that end generation when present
// (besides EOS, EOT and EOM).
var endOfGenerationNames = []string{"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"}

// EndOfGeneration lists the ids that end generation: EOS, EOT and EOM, and
// the control tokens among <|eot_id|>, <|eom_id|>, <|end_of_text|>,
// <|im_end|>, <|end|>, <end_of_turn> and <|endoftext|> that the vocabulary
// has, without repeats, EOS first.
func EndOfGeneration(t Tokenizer) []int32 {
	var ids []int32
	add := func(id int32) {
		if id >= 0 && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	add(t.EOS())
	in, ok := t.(Inspector)
	if !ok {
		return ids
	}
	add(in.EOT())
	add(in.EOM())
	for _, name := range endOfGenerationNames {
		if id, ok := in.TokenToID(name); ok && in.IsControl(id) {
			add(id)
		}
	}
	return ids
}
