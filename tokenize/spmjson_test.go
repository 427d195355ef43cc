package tokenize

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/bitnet-dev/bitnet/formats/sentencepiece"
	"github.com/bitnet-dev/bitnet/internal/testassets"
)

// llama2TokenizerJSON exports llama2-tokenizer.model as Hugging Face's
// converter (transformers' LlamaConverter, legacy) writes tokenizer.json:
// every split of each piece into two pieces is a merge, ordered by the
// piece's score (highest first; the splits of one piece by the ids of their
// halves); <unk>, <s>, </s> are special added tokens; byte_fallback and
// fuse_unk; normalizer Prepend("▁") + Replace(" ", "▁"); no pre-tokenizer;
// decoder Replace, ByteFallback, Fuse, Strip.
func llama2TokenizerJSON(t testing.TB, metaspace bool) []byte {
	t.Helper()
	m, err := sentencepiece.ReadFile(testassets.Path(t, "tokenizers/llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	vocab := make(map[string]int, len(m.Pieces))
	for i, p := range m.Pieces {
		vocab[p] = i
	}
	type merge struct {
		l, r  string
		score float32
	}
	var merges []merge
	for _, p := range m.Pieces {
		var local []merge
		for i := range p {
			if i == 0 || !utf8.RuneStart(p[i]) {
				continue
			}
			if _, ok := vocab[p[:i]]; !ok {
				continue
			}
			if _, ok := vocab[p[i:]]; ok {
				local = append(local, merge{p[:i], p[i:], m.Scores[vocab[p]]})
			}
		}
		slices.SortStableFunc(local, func(a, b merge) int {
			if vocab[a.l] != vocab[b.l] {
				return vocab[a.l] - vocab[b.l]
			}
			return vocab[a.r] - vocab[b.r]
		})
		merges = append(merges, local...)
	}
	slices.SortStableFunc(merges, func(a, b merge) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	mergeList := make([][2]string, len(merges))
	for i, x := range merges {
		mergeList[i] = [2]string{x.l, x.r}
	}
	var added []map[string]any
	for i, typ := range m.Types {
		if typ == sentencepiece.Control || typ == sentencepiece.Unknown {
			added = append(added, map[string]any{"id": i, "content": m.Pieces[i], "special": true})
		}
	}
	doc := map[string]any{
		"added_tokens": added,
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}},
		"pre_tokenizer": nil,
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}}},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"}, map[string]any{"type": "Fuse"},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
		}},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": "<unk>", "fuse_unk": true,
			"byte_fallback": true, "ignore_merges": false, "vocab": vocab, "merges": mergeList},
	}
	if metaspace {
		doc["normalizer"] = nil
		doc["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLlama2TokenizerJSONMatchesSentencePieceModel(t *testing.T) {
	fromModel, err := FromSentencePiece(testassets.Path(t, "tokenizers/llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseHFJSON(llama2TokenizerJSON(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if in := Describe(fromJSON); in.Kind != "bpe" || in.PreTokenizer != PreMetaspace || in.BOS != 1 || !in.AddBOS || in.UNK != 0 {
		t.Errorf("info %+v", in)
	}
	texts, _ := readVocabCases(t, "tokenizers/ggml-vocab-llama-spm.gguf.inp", "tokenizers/ggml-vocab-llama-spm.gguf.out")
	texts = append(texts, corpus(1500, 41)...)
	sameIDs(t, texts, []string{"tokenizer.model", "tokenizer.json"}, fromModel, fromJSON)
	for _, text := range texts[:200] {
		ids, _ := fromJSON.Encode(text, EncodeOptions{AddBOS: true})
		want, _ := fromModel.Decode(ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
		if got, _ := fromJSON.Decode(ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true}); got != want {
			t.Fatalf("decode %v: %q, want %q", ids, got, want)
		}
	}
}

func TestLlama2MetaspaceTokenizerJSONPrependsOnlyWhenMissing(t *testing.T) {
	tok, err := ParseHFJSON(llama2TokenizerJSON(t, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := ParseHFJSON(llama2TokenizerJSON(t, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	// "Hello" gets "▁" in both; " Hello" only with the legacy Prepend.
	for _, c := range []struct {
		text       string
		same       bool
		parseSpecs bool
	}{{"Hello world", true, false}, {" Hello", false, false}, {"<s>Hello", false, true}} {
		a, _ := tok.Encode(c.text, EncodeOptions{ParseSpecial: c.parseSpecs})
		b, _ := legacy.Encode(c.text, EncodeOptions{ParseSpecial: c.parseSpecs})
		if slices.Equal(a, b) != c.same {
			t.Errorf("%q: metaspace %v, legacy %v", c.text, a, b)
		}
	}
}
