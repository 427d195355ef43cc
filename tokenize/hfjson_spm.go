package tokenize

import (
	"encoding/json"
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// hfNormalizerParts are the fields of normalizers read here.
type hfNormalizerParts struct {
	Type        string            `json:"type"`
	Normalizers []json.RawMessage `json:"normalizers"`
	Prepend     string            `json:"prepend"`
	Pattern     *hfPattern        `json:"pattern"`
	Content     string            `json:"content"`
}

// hfMetaspace is the Metaspace pre-tokenizer or decoder.
type hfMetaspace struct {
	Type           string `json:"type"`
	Replacement    string `json:"replacement"`
	PrependScheme  string `json:"prepend_scheme"`
	AddPrefixSpace *bool  `json:"add_prefix_space"` // before prepend_scheme existed
	Split          *bool  `json:"split"`
}

// parseCharLevel recognizes a SentencePiece model exported to
// tokenizer.json: either the normalizer Prepend("▁") + Replace(" ", "▁")
// without pre-tokenizer (Llama-2's files), or no normalizer and the
// Metaspace pre-tokenizer without splitting. It returns nil (and no error)
// for anything else, which is then read as byte-level BPE.
func parseCharLevel(f *hfFile) (*charLevel, error) {
	cl := &charLevel{byteFallback: f.Model.ByteFallback, fuseUnknown: f.Model.FuseUnk}
	switch {
	case !isJSONNull(f.Normalizer) && isJSONNull(f.PreTokenizer):
		ok, err := isPrependReplace(f.Normalizer)
		if err != nil || !ok {
			return nil, err
		}
		cl.prepend = prependAlways
	case isJSONNull(f.Normalizer) && !isJSONNull(f.PreTokenizer):
		var ms hfMetaspace
		if err := json.Unmarshal(f.PreTokenizer, &ms); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %v: %w", err, errs.ErrFormat)
		}
		if ms.Type != "Metaspace" {
			return nil, nil
		}
		if ms.Replacement != spaceSymbol || ms.Split != nil && *ms.Split {
			return nil, fmt.Errorf("pre_tokenizer Metaspace with replacement %q, split %v: %w", ms.Replacement, ms.Split != nil && *ms.Split, errs.ErrUnsupported)
		}
		switch {
		case ms.PrependScheme == "always", ms.PrependScheme == "" && (ms.AddPrefixSpace == nil || *ms.AddPrefixSpace):
			cl.prepend = prependIfMissing
		case ms.PrependScheme == "first":
			cl.prepend = prependFirstIfMissing
		case ms.PrependScheme == "never", ms.PrependScheme == "":
			cl.prepend = prependNever
		default:
			return nil, fmt.Errorf("pre_tokenizer Metaspace prepend_scheme %q: %w", ms.PrependScheme, errs.ErrUnsupported)
		}
	default:
		return nil, nil
	}
	if err := checkCharDecoder(f.Decoder); err != nil {
		return nil, err
	}
	return cl, nil
}

// isPrependReplace recognizes Sequence[Prepend("▁"), Replace(" ", "▁")].
func isPrependReplace(raw json.RawMessage) (bool, error) {
	var seq hfNormalizerParts
	if err := json.Unmarshal(raw, &seq); err != nil {
		return false, fmt.Errorf("normalizer: %v: %w", err, errs.ErrFormat)
	}
	if seq.Type != "Sequence" || len(seq.Normalizers) != 2 {
		return false, nil
	}
	var p, r hfNormalizerParts
	if json.Unmarshal(seq.Normalizers[0], &p) != nil || json.Unmarshal(seq.Normalizers[1], &r) != nil {
		return false, fmt.Errorf("normalizer: malformed Sequence: %w", errs.ErrFormat)
	}
	return p.Type == "Prepend" && p.Prepend == spaceSymbol && r.Type == "Replace" && r.Pattern != nil &&
		r.Pattern.String != nil && *r.Pattern.String == " " && r.Content == spaceSymbol, nil
}

// checkCharDecoder accepts the decoders of SentencePiece exports: a
// Sequence of Replace("▁", " "), ByteFallback, Fuse and Strip(" ", 1, 0),
// whose leading-space removal Decode's StripLeadingSpace does, or Metaspace
// (decoded the same way: Hugging Face's Metaspace decoder also drops the
// other "▁" of the first token, and leaves <0xNN> pieces as text).
func checkCharDecoder(raw json.RawMessage) error {
	if isJSONNull(raw) {
		return nil
	}
	var d struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decoder: %v: %w", err, errs.ErrFormat)
	}
	parts := []json.RawMessage{raw}
	if d.Type == "Sequence" {
		parts = d.Decoders
	}
	for _, p := range parts {
		var c struct {
			Type    string     `json:"type"`
			Pattern *hfPattern `json:"pattern"`
			Content string     `json:"content"`
			Start   int        `json:"start"`
			Stop    int        `json:"stop"`
		}
		if err := json.Unmarshal(p, &c); err != nil {
			return fmt.Errorf("decoder: %v: %w", err, errs.ErrFormat)
		}
		switch {
		case c.Type == "Metaspace", c.Type == "ByteFallback", c.Type == "Fuse":
		case c.Type == "Replace" && c.Pattern != nil && c.Pattern.String != nil && *c.Pattern.String == spaceSymbol && c.Content == " ":
		case c.Type == "Strip" && c.Content == " " && c.Start <= 1 && c.Stop == 0:
		default:
			return fmt.Errorf("decoder %s in a SentencePiece-style tokenizer: %w", describeJSON(p), errs.ErrUnsupported)
		}
	}
	return nil
}
