package discovery

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// MockTokenizer is a stand-in for tests and CI runs without tokenizer
// files: NOT a real tokenizer. Id 0 is <unk>, 1 is <s> (BOS), 2 is </s>
// (EOS), and each byte b of the text is one token 3+b — or 3+b%(vocab-3)
// when the vocabulary has fewer than 259 entries, in which case Decode
// cannot give the text back. Discover returns it only with
// Options.AllowMock, never in strict mode.
type MockTokenizer struct {
	vocab int
}

// Mock token ids.
const (
	mockUNK      int32 = 0
	mockBOS      int32 = 1
	mockEOS      int32 = 2
	mockFirst    int32 = 3
	mockMinVocab       = 4
	// MockFullVocab is the smallest vocabulary that holds every byte.
	MockFullVocab = 259
)

var _ tokenize.Tokenizer = (*MockTokenizer)(nil)

// NewMock returns a mock tokenizer with vocab tokens (at least 4).
func NewMock(vocab int) (*MockTokenizer, error) {
	if vocab < mockMinVocab {
		return nil, fmt.Errorf("mock tokenizer: vocabulary %d, need at least %d: %w", vocab, mockMinVocab, errs.ErrInvalidArgument)
	}
	return &MockTokenizer{vocab: vocab}, nil
}

// Encode maps each byte of text to one id.
func (m *MockTokenizer) Encode(text string, opts tokenize.EncodeOptions) ([]int32, error) {
	ids := make([]int32, 0, len(text)+2)
	if opts.AddBOS {
		ids = append(ids, mockBOS)
	}
	span := int32(m.vocab) - mockFirst
	for i := 0; i < len(text); i++ {
		ids = append(ids, mockFirst+int32(text[i])%span)
	}
	if opts.AddEOS {
		ids = append(ids, mockEOS)
	}
	return ids, nil
}

// Decode maps ids back to bytes; special ids give their piece text unless
// opts.SkipSpecial.
func (m *MockTokenizer) Decode(ids []int32, opts tokenize.DecodeOptions) (string, error) {
	var out []byte
	for _, id := range ids {
		if id < 0 || int(id) >= m.vocab {
			return "", fmt.Errorf("mock tokenizer: id %d outside vocabulary of %d: %w", id, m.vocab, errs.ErrTokenization)
		}
		if id < mockFirst {
			if !opts.SkipSpecial {
				p, _ := m.TokenToPiece(id)
				out = append(out, p...)
			}
			continue
		}
		if id-mockFirst < 256 {
			out = append(out, byte(id-mockFirst))
		}
	}
	if opts.StripLeadingSpace && len(out) > 0 && out[0] == ' ' {
		out = out[1:]
	}
	return string(out), nil
}

// TokenToPiece returns "<unk>", "<s>", "</s>", "<0xXX>" for byte tokens and
// "<mock-N>" for the ids past the bytes.
func (m *MockTokenizer) TokenToPiece(id int32) (string, error) {
	switch {
	case id < 0 || int(id) >= m.vocab:
		return "", fmt.Errorf("mock tokenizer: id %d outside vocabulary of %d: %w", id, m.vocab, errs.ErrTokenization)
	case id == mockUNK:
		return "<unk>", nil
	case id == mockBOS:
		return "<s>", nil
	case id == mockEOS:
		return "</s>", nil
	case id-mockFirst < 256:
		return fmt.Sprintf("<0x%02X>", id-mockFirst), nil
	}
	return fmt.Sprintf("<mock-%d>", id), nil
}

// VocabSize is the vocabulary size given to NewMock.
func (m *MockTokenizer) VocabSize() int { return m.vocab }

// BOS is 1.
func (m *MockTokenizer) BOS() int32 { return mockBOS }

// EOS is 2.
func (m *MockTokenizer) EOS() int32 { return mockEOS }

// IsControl reports ids 1 and 2 (BOS and EOS).
func (m *MockTokenizer) IsControl(id int32) bool { return id == mockBOS || id == mockEOS }

// Kind is "mock".
func (m *MockTokenizer) Kind() string { return "mock" }
