package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/gguf"
	"github.com/bitnet-dev/bitnet/formats/sentencepiece"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// llama3GGUF writes the Llama-3 vocabulary of tokenizer.json (read here
// with encoding/json, independently of ParseHFJSON) as GGUF metadata with
// gguf.Writer, parses the file back and returns its metadata. edit may
// change the writer's keys before writing.
func llama3GGUF(t *testing.T, edit func(w *gguf.Writer)) *gguf.Metadata {
	t.Helper()
	raw, err := os.ReadFile(testassets.Path(t, "tokenizers/llama3-tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Model struct {
			Vocab  map[string]int  `json:"vocab"`
			Merges json.RawMessage `json:"merges"`
		} `json:"model"`
		Added []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	tokens := make([]string, len(f.Model.Vocab)+len(f.Added))
	types := make([]int32, len(tokens))
	for tok, id := range f.Model.Vocab {
		tokens[id], types[id] = tok, TokenTypeNormal
	}
	for _, a := range f.Added {
		tokens[a.ID], types[a.ID] = a.Content, TokenTypeControl
	}
	var merges []string
	if err := json.Unmarshal(f.Model.Merges, &merges); err != nil {
		t.Fatalf("merges as strings: %v", err)
	}
	w := gguf.NewWriter()
	for _, kv := range []struct {
		key string
		val any
	}{
		{"general.architecture", "llama"}, {KeyModel, "gpt2"}, {KeyPre, "llama-bpe"},
		{KeyTokens, tokens}, {KeyTokenType, types}, {KeyMerges, merges},
		{KeyBOS, uint32(128000)}, {KeyEOS, uint32(128001)}, {KeyChatTemplate, "{{ messages }}"},
	} {
		if err := w.Set(kv.key, kv.val); err != nil {
			t.Fatal(err)
		}
	}
	if edit != nil {
		edit(w)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	file, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return file.Metadata
}

func mustBPE(t *testing.T, tok Tokenizer, err error) *BPE {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := tok.(*BPE)
	if !ok {
		t.Fatalf("got %T, want *BPE", tok)
	}
	return b
}

// sameIDs checks that the tokenizers give the same ids on the generated
// corpus, with and without special-token parsing.
func sameIDs(t *testing.T, texts []string, names []string, toks ...Tokenizer) {
	t.Helper()
	mismatches := 0
	for _, text := range texts {
		for _, opts := range []EncodeOptions{{}, {ParseSpecial: true}} {
			want, err := toks[0].Encode(text, opts)
			if err != nil {
				t.Fatalf("%s %q: %v", names[0], text, err)
			}
			for i, tok := range toks[1:] {
				got, err := tok.Encode(text, opts)
				if err != nil || !slices.Equal(got, want) {
					mismatches++
					if mismatches <= 5 {
						t.Errorf("%q (%+v):\n%s: %v\n%s: %v (%v)", text, opts, names[0], want, names[i+1], got, err)
					}
				}
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches in %d texts", mismatches, len(texts))
	}
}

func TestLlama3FromGGUFTokenizerJSONAndTiktokenGiveSameIDs(t *testing.T) {
	fromJSON := loadLlama3(t)
	tok, err := FromGGUF(llama3GGUF(t, nil))
	fromGGUF := mustBPE(t, tok, err)
	tok, err = FromTiktoken(testassets.Path(t, "tokenizers/llama3-tiktoken-ranks.model"), nil)
	fromTiktoken := mustBPE(t, tok, err)
	texts, _ := readVocabCases(t, "tokenizers/ggml-vocab-llama-bpe.gguf.inp", "tokenizers/ggml-vocab-llama-bpe.gguf.out")
	texts = append(texts, corpus(3000, 7)...)
	sameIDs(t, texts, []string{"tokenizer.json", "gguf", "tiktoken"}, fromJSON, fromGGUF, fromTiktoken)
	for _, b := range []*BPE{fromJSON, fromGGUF, fromTiktoken} {
		in := b.Info()
		if in.BOS != 128000 || in.EOS != 128001 || in.EOT != 128009 || in.VocabSize != 128256 || in.PreTokenizer != PreLlama3 {
			t.Errorf("%s: info %+v", in.Source, in)
		}
		if got := EndOfGeneration(b); !slices.Equal(got, []int32{128001, 128009}) {
			t.Errorf("%s: end of generation %v", in.Source, got)
		}
	}
	if !fromGGUF.Info().AddBOS || fromJSON.Info().AddBOS || !fromTiktoken.Info().AddBOS {
		t.Errorf("add_bos defaults: gguf %v (llama.cpp: true), tokenizer.json %v (its post-processor adds none), tiktoken %v (true)",
			fromGGUF.Info().AddBOS, fromJSON.Info().AddBOS, fromTiktoken.Info().AddBOS)
	}
	if fromGGUF.ChatTemplate() != "{{ messages }}" || fromJSON.ChatTemplate() == "" {
		t.Errorf("chat templates: gguf %q, json %d bytes", fromGGUF.ChatTemplate(), len(fromJSON.ChatTemplate()))
	}
}

func TestLlama3GGUFWithoutPreTokenizerGetsLlama3Rules(t *testing.T) {
	// The official BitNet b1.58 2B-4T GGUF has no tokenizer.ggml.pre.
	md := llama3GGUF(t, func(w *gguf.Writer) { w.Metadata.Delete(KeyPre) })
	tok, err := FromGGUF(md)
	b := mustBPE(t, tok, err)
	if in := b.Info(); in.PreTokenizer != PreLlama3 || !in.AddBOS || !b.v.IgnoreMerges {
		t.Errorf("info %+v, ignore_merges %v", in, b.v.IgnoreMerges)
	}
	sameIDs(t, corpus(300, 3), []string{"tokenizer.json", "gguf without pre"}, loadLlama3(t), b)
}

func TestGGUFBPEPreTokenizerNamesAndDefaults(t *testing.T) {
	md := llama3GGUF(t, func(w *gguf.Writer) { _ = w.Set(KeyPre, "qwen2") })
	if _, err := FromGGUF(md); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("unknown pre-tokenizer: %v, want ErrUnsupported", err)
	}
	md = llama3GGUF(t, func(w *gguf.Writer) { _ = w.Set(KeyPre, "gpt2"); _ = w.Set(KeyAddBOS, false) })
	tok, err := FromGGUF(md)
	b := mustBPE(t, tok, err)
	if in := b.Info(); in.PreTokenizer != PreGPT2 || in.AddBOS || b.v.IgnoreMerges {
		t.Errorf("gpt2: info %+v", in)
	}
	// Without a pre key, a vocabulary that is not Llama-3's gets llama.cpp's
	// "default" split.
	md = llama3GGUF(t, func(w *gguf.Writer) {
		w.Metadata.Delete(KeyPre)
		tokens, _ := w.Metadata.Strings(KeyTokens)
		types, _ := w.Metadata.Int32s(KeyTokenType)
		_ = w.Set(KeyTokens, tokens[:128001])
		_ = w.Set(KeyTokenType, types[:128001])
		_ = w.Set(KeyEOS, uint32(0))
	})
	tok, err = FromGGUF(md)
	b = mustBPE(t, tok, err)
	if in := b.Info(); in.PreTokenizer != PreDefault || in.AddBOS {
		t.Errorf("no pre: info %+v", in)
	}
	md = llama3GGUF(t, func(w *gguf.Writer) { _ = w.Set(KeyMerges, []string{"Ġ Ġ", "nonsense"}) })
	if _, err := FromGGUF(md); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("merge without a space: %v, want ErrFormat", err)
	}
	md = llama3GGUF(t, func(w *gguf.Writer) { _ = w.Set(KeyMerges, []string{"Ġ Ġ", "qqqq zzzz"}) })
	if _, err := FromGGUF(md); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("merge of unknown pieces: %v, want ErrFormat", err)
	}
	md = llama3GGUF(t, func(w *gguf.Writer) { _ = w.Set(KeyEOT, int32(128009)); _ = w.Set(KeyEOM, uint32(300000)) })
	if _, err := FromGGUF(md); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("EOM out of range: %v, want ErrFormat", err)
	}
}

func TestLlama2SentencePieceModelMatchesGGUFVocab(t *testing.T) {
	fromGGUF := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	tok, err := FromSentencePiece(testassets.Path(t, "tokenizers/llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	// The same pieces written to a GGUF here with gguf.Writer.
	m, err := sentencepiece.ReadFile(testassets.Path(t, "tokenizers/llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	for _, kv := range []struct {
		key string
		val any
	}{{KeyModel, "llama"}, {KeyTokens, m.Pieces}, {KeyScores, m.Scores}, {KeyTokenType, m.Types},
		{KeyBOS, uint32(m.BOSID)}, {KeyEOS, uint32(m.EOSID)}, {KeyUNK, uint32(m.UnkID)}} {
		if err := w.Set(kv.key, kv.val); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	file, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	written, err := FromGGUF(file.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	texts, _ := readVocabCases(t, "tokenizers/ggml-vocab-llama-spm.gguf.inp", "tokenizers/ggml-vocab-llama-spm.gguf.out")
	texts = append(texts, corpus(2000, 11)...)
	sameIDs(t, texts, []string{"gguf", "tokenizer.model", "gguf written from tokenizer.model"}, fromGGUF, tok, written)
	if in := Describe(tok); in.Kind != "spm" || in.Source != SourceSentencePiece || in.BOS != 1 || in.EOS != 2 || in.UNK != 0 || !in.AddBOS {
		t.Errorf("info %+v", in)
	}
	if got := EndOfGeneration(tok); !slices.Equal(got, []int32{2}) {
		t.Errorf("end of generation %v", got)
	}
}

func TestTok512SentencePieceModelRemovesExtraSpacesLikeSentencePiece(t *testing.T) {
	tok, err := FromSentencePiece(testassets.Path(t, "models/tok512.model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tok512Cases {
		if got, _ := tok.Encode(c.text, EncodeOptions{}); !slices.Equal(got, c.ids) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.ids)
		}
	}
	// sentencepiece 0.2: encode("  hello   world\t\n  ") on tok512.model.
	if got, want := mustEncode(t, tok, "  hello   world\t\n  "), []int32{281, 306, 414, 263, 304, 341, 12, 13}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func mustEncode(t *testing.T, tok Tokenizer, text string) []int32 {
	t.Helper()
	ids, err := tok.Encode(text, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestLoadTellsFileKindsByContent(t *testing.T) {
	cases := []struct {
		rel, kind, source string
	}{
		{"tokenizers/llama3-tokenizer.json", "bpe", SourceHFJSON},
		{"tokenizers/llama3-tiktoken-ranks.model", "bpe", SourceTiktoken},
		{"tokenizers/llama2-tokenizer.model", "spm", SourceSentencePiece},
		{"tokenizers/ggml-vocab-llama-spm.gguf", "spm", SourceGGUF},
	}
	for _, c := range cases {
		tok, err := Load(testassets.Path(t, c.rel))
		if err != nil {
			t.Fatalf("%s: %v", c.rel, err)
		}
		if in := Describe(tok); in.Kind != c.kind || in.Source != c.source {
			t.Errorf("%s: kind %s, source %s", c.rel, in.Kind, in.Source)
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(testassets.Path(t, "tokenizers/llama2-tokenizer.model"), filepath.Join(dir, "tokenizer.model")); err != nil {
		t.Fatal(err)
	}
	if tok, err := Load(dir); err != nil || tok.VocabSize() != 32000 {
		t.Errorf("folder with tokenizer.model: %v", err)
	}
	// A tokenizer.json of an unsupported kind leaves the tokenizer.model.
	unigram := strings.Replace(miniJSON, `"type": "BPE"`, `"type": "Unigram"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(unigram), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := Load(dir); err != nil || Describe(tok).Source != SourceSentencePiece {
		t.Errorf("folder with a unigram tokenizer.json and tokenizer.model: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "tokenizer.json")); !errors.Is(err, errs.ErrUnsupported) {
		t.Errorf("unigram tokenizer.json: %v, want ErrUnsupported", err)
	}
	junk := filepath.Join(dir, "junk.bin")
	if err := os.WriteFile(junk, []byte("\x00\x01 not a tokenizer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(junk); !errors.Is(err, errs.ErrFormat) {
		t.Errorf("junk: %v, want ErrFormat", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("missing file loaded")
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("empty folder: %v, want ErrInvalidArgument", err)
	}
}
