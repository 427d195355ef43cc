package discovery

import (
	"errors"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/tokenize"
)

func TestMockTokenizerRoundTripsBytesWithFullVocabulary(t *testing.T) {
	m, err := NewMock(MockFullVocab)
	if err != nil {
		t.Fatal(err)
	}
	text := "héllo\x00\xff"
	ids, err := m.Encode(text, tokenize.EncodeOptions{AddBOS: true, AddEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(text)+2 || ids[0] != m.BOS() || ids[len(ids)-1] != m.EOS() {
		t.Fatalf("ids %v", ids)
	}
	got, err := m.Decode(ids, tokenize.DecodeOptions{SkipSpecial: true})
	if err != nil || got != text {
		t.Errorf("decode %q, %v; want %q", got, err, text)
	}
	withSpecial, _ := m.Decode(ids, tokenize.DecodeOptions{})
	if withSpecial != "<s>"+text+"</s>" {
		t.Errorf("decode with specials %q", withSpecial)
	}
	if p, _ := m.TokenToPiece(3 + 'A'); p != "<0x41>" {
		t.Errorf("piece of 'A' %q", p)
	}
	if !m.IsControl(1) || !m.IsControl(2) || m.IsControl(3) || m.Kind() != "mock" || m.VocabSize() != MockFullVocab {
		t.Error("specials or kind wrong")
	}
}

func TestMockTokenizerSmallVocabularyStaysInRange(t *testing.T) {
	m, err := NewMock(10)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := m.Encode("any text at all \xff", tokenize.EncodeOptions{})
	for _, id := range ids {
		if id < 3 || id >= 10 {
			t.Errorf("id %d outside 3..9", id)
		}
	}
	if _, err := m.Decode([]int32{10}, tokenize.DecodeOptions{}); !errors.Is(err, errs.ErrTokenization) {
		t.Errorf("id past the vocabulary: %v", err)
	}
	if _, err := m.TokenToPiece(-1); !errors.Is(err, errs.ErrTokenization) {
		t.Errorf("negative id: %v", err)
	}
	if _, err := NewMock(3); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("vocabulary 3: %v", err)
	}
}
