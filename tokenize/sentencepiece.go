package tokenize

import (
	"fmt"
	"os"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/formats/sentencepiece"
)

// FromSentencePiece reads a SentencePiece tokenizer.model as an SPM that
// gives SentencePiece's ids: BPE models only (unigram, word and char models
// give an error wrapping errs.ErrUnsupported, as do normalizers other than
// "identity", which would need Unicode normalization tables), with the
// model's BOS/EOS/UNK/PAD ids, add_dummy_prefix and remove_extra_whitespaces.
// Encoding adds BOS by default (as Llama's tokenizers do; SentencePiece's
// own encode does not).
func FromSentencePiece(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: %w", err)
	}
	t, err := parseSentencePiece(data)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece %s: %w", path, err)
	}
	return t, nil
}

func parseSentencePiece(data []byte) (*SPM, error) {
	m, err := sentencepiece.Parse(data)
	if err != nil {
		return nil, err
	}
	if m.ModelType != sentencepiece.BPE {
		return nil, fmt.Errorf("model type %d (only BPE, 2, is supported): %w", m.ModelType, errs.ErrUnsupported)
	}
	switch m.NormalizerName {
	case "", "identity":
	default:
		return nil, fmt.Errorf("normalizer %q (only identity is supported): %w", m.NormalizerName, errs.ErrUnsupported)
	}
	if !m.EscapeSpaces {
		return nil, fmt.Errorf("escape_whitespaces false: %w", errs.ErrUnsupported)
	}
	v := Vocab{
		Tokens: m.Pieces, Scores: m.Scores, Types: m.Types,
		BOS: int32(m.BOSID), EOS: int32(m.EOSID), UNK: int32(m.UnkID), PAD: int32(m.PadID),
		AddBOS: m.BOSID >= 0, AddSpacePrefix: m.AddDummyPrefix, RemoveExtraSpaces: m.RemoveExtraSpace,
	}
	s, err := NewSPM(v)
	if err != nil {
		return nil, err
	}
	s.source = SourceSentencePiece
	return s, nil
}
