package tokenize

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// A minimal valid byte-level tokenizer.json, edited by the cases below.
const miniJSON = `{
  "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|end|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<|end|>": {"id": "<|end|>", "ids": [5], "tokens": ["<|end|>"]}}},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "dropout": null, "unk_token": null, "ignore_merges": false,
    "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4},
    "merges": ["a b", "Ġ ab"]}
}`

func TestParseHFJSONReadsAMinimalByteLevelBPE(t *testing.T) {
	tok, err := ParseHFJSON([]byte(miniJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := Describe(tok)
	if in.Kind != "bpe" || in.PreTokenizer != PreGPT2 || in.BOS != 5 || !in.AddBOS || in.VocabSize != 6 {
		t.Errorf("info %+v", in)
	}
	opts := DefaultEncodeOptions(tok)
	opts.ParseSpecial = true
	ids, err := tok.Encode("ab ab<|end|>", opts)
	if err != nil || !slices.Equal(ids, []int32{5, 2, 4, 5}) {
		t.Errorf("got %v, %v", ids, err)
	}
	// Merges may also be written as pairs; the config can turn BOS off.
	pairs := strings.Replace(miniJSON, `"merges": ["a b", "Ġ ab"]`, `"merges": [["a", "b"], ["Ġ", "ab"]]`, 1)
	tok, err = ParseHFJSON([]byte(pairs), []byte(`{"add_bos_token": false, "eos_token": {"content": "<|end|>"}, "chat_template": [{"name": "default", "template": "T"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	in = Describe(tok)
	if in.AddBOS || in.EOS != 5 || !in.HasChatTemplate {
		t.Errorf("with config: %+v", in)
	}
}

func TestParseHFJSONRejectsMalformedAndUnsupportedFiles(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(miniJSON, old) {
			t.Fatalf("test bug: %q not in the fixture", old)
		}
		return strings.Replace(miniJSON, old, new, 1)
	}
	cases := []struct {
		name, json, config string
		kind               error
	}{
		{"not JSON", "{", "", errs.ErrFormat},
		{"truncated", miniJSON[:len(miniJSON)/2], "", errs.ErrFormat},
		{"array", "[]", "", errs.ErrFormat},
		{"empty object", "{}", "", errs.ErrUnsupported},
		{"config not JSON", miniJSON, "{", errs.ErrFormat},
		{"merge names an unknown piece", edit(`"a b", "Ġ ab"`, `"a b", "Ġ zz"`), "", errs.ErrFormat},
		{"merge makes an unknown piece", edit(`"a b", "Ġ ab"`, `"a b", "b a"`), "", errs.ErrFormat},
		{"merge without a space", edit(`"a b", "Ġ ab"`, `"ab"`), "", errs.ErrFormat},
		{"merge pair of three", edit(`"merges": ["a b", "Ġ ab"]`, `"merges": [["a", "b", "c"]]`), "", errs.ErrFormat},
		{"merges not a list", edit(`"merges": ["a b", "Ġ ab"]`, `"merges": 7`), "", errs.ErrFormat},
		{"vocab not an object", edit(`"vocab": {`, `"vocab": [1], "x": {`), "", errs.ErrFormat},
		{"negative id", edit(`"b": 1`, `"b": -1`), "", errs.ErrFormat},
		{"id used twice", edit(`"b": 1`, `"b": 0`), "", errs.ErrFormat},
		{"hole in ids", edit(`"Ġab": 4`, `"Ġab": 40`), "", errs.ErrFormat},
		{"added token over another piece", edit(`"id": 5`, `"id": 2`), "", errs.ErrFormat},
		{"added token without id", edit(`"id": 5, `, ``), "", errs.ErrFormat},
		{"unigram model", edit(`"type": "BPE"`, `"type": "Unigram"`), "", errs.ErrUnsupported},
		{"wordpiece model", edit(`"type": "BPE"`, `"type": "WordPiece"`), "", errs.ErrUnsupported},
		{"dropout", edit(`"dropout": null`, `"dropout": 0.1`), "", errs.ErrUnsupported},
		{"normalizer", edit(`"normalizer": null`, `"normalizer": {"type": "NFC"}`), "", errs.ErrUnsupported},
		{"no pre-tokenizer", edit(`"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}`, `"pre_tokenizer": null`), "", errs.ErrUnsupported},
		{"unknown split pattern", edit(`"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}`,
			`"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\d+"}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}`), "", errs.ErrUnsupported},
		{"metaspace decoder", edit(`"decoder": {"type": "ByteLevel"}`, `"decoder": {"type": "Metaspace"}`), "", errs.ErrUnsupported},
		{"unknown post-processor", edit(`"post_processor": {"type": "TemplateProcessing"`, `"post_processor": {"type": "Magic"`), "", errs.ErrUnsupported},
		{"unknown unk_token", edit(`"unk_token": null`, `"unk_token": "<unk>"`), "", errs.ErrFormat},
		{"config bos not in vocabulary", miniJSON, `{"bos_token": "<s>"}`, errs.ErrFormat},
		{"config bos of the wrong type", miniJSON, `{"bos_token": 7}`, errs.ErrFormat},
	}
	for _, c := range cases {
		var cfg []byte
		if c.config != "" {
			cfg = []byte(c.config)
		}
		tok, err := ParseHFJSON([]byte(c.json), cfg)
		if !errors.Is(err, c.kind) || tok != nil {
			t.Errorf("%s: got %v, %v; want %v", c.name, tok, err, c.kind)
		}
	}
}

func TestFromTiktokenRejectsMalformedRankFiles(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text string
		specials   map[string]int32
		kind       error
	}{
		{"empty", "", nil, errs.ErrFormat},
		{"no rank", "YQ==\n", nil, errs.ErrFormat},
		{"bad base64", "!!!! 0\n", nil, errs.ErrFormat},
		{"ranks out of order", "YQ== 1\nYg== 0\n", nil, errs.ErrFormat},
		{"token twice", "YQ== 0\nYQ== 1\n", nil, errs.ErrFormat},
		{"special over a rank", "YQ== 0\nYg== 1\n", map[string]int32{"<x>": 1}, errs.ErrInvalidArgument},
		{"special leaves a hole", "YQ== 0\nYg== 1\n", map[string]int32{"<x>": 5}, errs.ErrInvalidArgument},
		{"negative special", "YQ== 0\n", map[string]int32{"<x>": -1}, errs.ErrInvalidArgument},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "ranks")
		if err := os.WriteFile(p, []byte(c.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if tok, err := FromTiktoken(p, c.specials); !errors.Is(err, c.kind) || tok != nil {
			t.Errorf("%s: got %v, %v; want %v", c.name, tok, err, c.kind)
		}
	}
}

func TestBPEDecodeRejectsIDsOutOfRange(t *testing.T) {
	b := loadLlama3(t)
	for _, id := range []int32{-1, 128256, 1 << 30} {
		if _, err := b.Decode([]int32{1, id}, DecodeOptions{}); !errors.Is(err, errs.ErrTokenization) {
			t.Errorf("id %d: %v", id, err)
		}
		if _, err := b.TokenToPiece(id); !errors.Is(err, errs.ErrTokenization) {
			t.Errorf("piece of id %d: %v", id, err)
		}
	}
}

// TestBPEInvalidUTF8HasADefinedResult: invalid bytes are split as single
// non-letter characters and encoded byte for byte, so decoding gives the
// input back exactly.
func TestBPEInvalidUTF8HasADefinedResult(t *testing.T) {
	b := loadLlama3(t)
	r := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		buf := make([]byte, r.IntN(40))
		for i := range buf {
			buf[i] = byte(r.UintN(256))
		}
		s := string(buf)
		ids, err := b.Encode(s, EncodeOptions{ParseSpecial: r.IntN(2) == 0})
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got, _ := b.Decode(ids, DecodeOptions{}); got != s {
			t.Fatalf("%q decodes to %q", s, got)
		}
	}
	// The split of an invalid byte is that of U+FFFD (a symbol).
	got := splitLlama3("a\xffb \xfe\xfe!", nil)
	want := []string{"a", "\xffb", " \xfe\xfe!"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("split %q, want %q", got, want)
	}
}

// TestBPEEncodes100MBInLinearTime encodes 100 MB of mixed text and checks
// that it decodes back; the time is logged, not asserted.
func TestBPEEncodes100MBInLinearTime(t *testing.T) {
	b := loadLlama3(t)
	chunk := strings.Join(corpus(400, 13), "\n")
	text := strings.Repeat(chunk, 100<<20/len(chunk)+1)[:100<<20]
	text = strings.ToValidUTF8(text[:len(text)-4], "") // the cut may split a character
	start := time.Now()
	ids, err := b.Encode(text, EncodeOptions{ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MB -> %d tokens in %v", len(text)>>20, len(ids), time.Since(start))
	back, err := b.Decode(ids, DecodeOptions{})
	if err != nil || back != text {
		t.Fatalf("decode differs from the input (%v)", err)
	}
}

// TestBPELongSinglePreTokenIsNotQuadratic merges single pre-tokens of
// several MB (a run of one letter, and random letters), which go through
// the O(n log n) heap merge; a quadratic merge would not finish.
func TestBPELongSinglePreTokenIsNotQuadratic(t *testing.T) {
	b := loadLlama3(t)
	r := rand.New(rand.NewPCG(4, 4))
	letters := make([]byte, 2<<20)
	for i := range letters {
		letters[i] = byte('a' + r.IntN(26))
	}
	for _, text := range []string{strings.Repeat("a", 4<<20), string(letters), strings.Repeat(" ", 1<<20) + "x"} {
		if n := len(splitLlama3(text, nil)); n > 2 {
			t.Fatalf("test bug: %d pre-tokens", n)
		}
		start := time.Now()
		ids, err := b.Encode(text, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d bytes -> %d tokens in %v", len(text), len(ids), time.Since(start))
		if back, _ := b.Decode(ids, DecodeOptions{}); back != text {
			t.Fatalf("long pre-token does not round-trip")
		}
	}
}

func TestSPMEncodesLongTextWithoutBlowingUp(t *testing.T) {
	tok := loadGGUF(t, "tokenizers/ggml-vocab-llama-spm.gguf")
	chunk := strings.Join(corpus(200, 17), " ")
	text := strings.ToValidUTF8(strings.Repeat(chunk, 8<<20/len(chunk)+1)[:8<<20], "")
	start := time.Now()
	ids, err := tok.Encode(text, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MB -> %d tokens in %v", len(text)>>20, len(ids), time.Since(start))
	back, err := tok.Decode(ids, DecodeOptions{StripLeadingSpace: true})
	if err != nil || back != strings.ReplaceAll(text, spaceSymbol, " ") {
		t.Fatalf("decode differs (%v)", err)
	}
}

// FuzzBPEDecodeInvertsEncode checks on the Llama-3 vocabulary that any
// input, valid UTF-8 or not, encodes without error and decodes back to
// itself (without special-token parsing), and that special-token parsing
// never fails.
func FuzzBPEDecodeInvertsEncode(f *testing.F) {
	b := loadLlama3(f)
	for _, s := range corpus(100, 21) {
		f.Add(s)
	}
	f.Add("\xff\xfe<|eot_id|>\xc3")
	f.Fuzz(func(t *testing.T, text string) {
		ids, err := b.Encode(text, EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Decode(ids, DecodeOptions{}); got != text {
			t.Fatalf("%q -> %v -> %q", text, ids, got)
		}
		if _, err := b.Encode(text, EncodeOptions{ParseSpecial: true, AddBOS: true, AddEOS: true}); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(text) {
			d := NewStreamDecoder(b, DecodeOptions{})
			var sb strings.Builder
			for _, id := range ids {
				s, err := d.Push(id)
				if err != nil {
					t.Fatal(err)
				}
				if !utf8.ValidString(s) {
					t.Fatalf("stream decoder emitted invalid UTF-8 %q", s)
				}
				sb.WriteString(s)
			}
			if sb.WriteString(d.Flush()); sb.String() != text {
				t.Fatalf("stream decode %q, want %q", sb.String(), text)
			}
		}
	})
}

func TestLoadOfTruncatedAssetsFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	for _, rel := range []string{"tokenizers/llama3-tokenizer.json", "tokenizers/llama2-tokenizer.model", "tokenizers/ggml-vocab-llama-spm.gguf", "tokenizers/llama3-tiktoken-ranks.model"} {
		data, err := os.ReadFile(testassets.Path(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		for _, frac := range []int{3, 2} {
			p := filepath.Join(dir, filepath.Base(rel))
			cut := data[:len(data)/frac]
			if strings.HasSuffix(rel, "tiktoken-ranks.model") {
				cut = append(cut[:len(cut):len(cut)], "garbage"...)
			}
			if err := os.WriteFile(p, cut, 0o600); err != nil {
				t.Fatal(err)
			}
			if tok, err := Load(p); err == nil || tok != nil {
				t.Errorf("%s cut to 1/%d: loaded (%v)", rel, frac, err)
			}
		}
	}
}
