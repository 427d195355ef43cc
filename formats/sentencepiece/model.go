// Package sentencepiece reads SentencePiece model files (tokenizer.model, a
// serialized ModelProto protocol buffer): the pieces with their scores and
// types, and the trainer and normalizer settings that tokenization needs.
package sentencepiece

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/bitnet-dev/bitnet/errs"
)

// Piece types, as in sentencepiece_model.proto (equal to GGUF token types).
const (
	Normal      = 1
	Unknown     = 2
	Control     = 3
	UserDefined = 4
	Unused      = 5
	Byte        = 6
)

// Model types of the trainer spec.
const (
	Unigram = 1
	BPE     = 2
	Word    = 3
	Char    = 4
)

// Model is the part of a ModelProto a tokenizer needs.
type Model struct {
	Pieces []string
	Scores []float32
	Types  []int32

	ModelType                  int
	ByteFallback               bool
	UnkID, BOSID, EOSID, PadID int

	NormalizerName   string
	AddDummyPrefix   bool
	RemoveExtraSpace bool
	EscapeSpaces     bool
}

// ReadFile reads a tokenizer.model file.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece %s: %w", path, err)
	}
	return m, nil
}

// Parse decodes a serialized ModelProto.
func Parse(b []byte) (*Model, error) {
	m := &Model{ModelType: Unigram, UnkID: 0, BOSID: 1, EOSID: 2, PadID: -1,
		AddDummyPrefix: true, RemoveExtraSpace: true, EscapeSpaces: true}
	err := fields(b, "ModelProto", func(num int, wire int, v uint64, data []byte) error {
		switch {
		case num == 1 && wire == wireBytes:
			return m.addPiece(data)
		case num == 2 && wire == wireBytes:
			return m.trainer(data)
		case num == 3 && wire == wireBytes:
			return m.normalizer(data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(m.Pieces) == 0 {
		return nil, fmt.Errorf("model has no pieces (not a SentencePiece model?): %w", errs.ErrFormat)
	}
	if m.ModelType < Unigram || m.ModelType > Char {
		return nil, fmt.Errorf("trainer spec: model type %d is not unigram (1), BPE (2), word (3) or char (4): %w", m.ModelType, errs.ErrFormat)
	}
	// unk_id is required; bos, eos and pad may be -1 (disabled).
	for _, s := range []struct {
		name string
		id   int
		min  int
	}{{"unk_id", m.UnkID, 0}, {"bos_id", m.BOSID, -1}, {"eos_id", m.EOSID, -1}, {"pad_id", m.PadID, -1}} {
		if s.id < s.min || s.id >= len(m.Pieces) {
			return nil, fmt.Errorf("trainer spec: %s %d is outside the %d pieces: %w", s.name, s.id, len(m.Pieces), errs.ErrFormat)
		}
	}
	return m, nil
}

func (m *Model) addPiece(b []byte) error {
	piece, score, typ := "", float32(0), int32(Normal)
	err := fields(b, "SentencePiece", func(num, wire int, v uint64, data []byte) error {
		switch {
		case num == 1 && wire == wireBytes:
			piece = string(data)
		case num == 2 && wire == wireFixed32:
			score = math.Float32frombits(uint32(v))
		case num == 3 && wire == wireVarint:
			if v < Normal || v > Byte {
				return fmt.Errorf("piece %d: unknown type %d: %w", len(m.Pieces), v, errs.ErrFormat)
			}
			typ = int32(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.Pieces = append(m.Pieces, piece)
	m.Scores = append(m.Scores, score)
	m.Types = append(m.Types, typ)
	return nil
}

func (m *Model) trainer(b []byte) error {
	return fields(b, "TrainerSpec", func(num, wire int, v uint64, data []byte) error {
		if wire != wireVarint {
			return nil
		}
		var dst *int
		switch num {
		case 3:
			dst = &m.ModelType
		case 35:
			m.ByteFallback = v != 0
		case 40:
			dst = &m.UnkID
		case 41:
			dst = &m.BOSID
		case 42:
			dst = &m.EOSID
		case 43:
			dst = &m.PadID
		}
		if dst != nil {
			// int32 fields: negative values are sign-extended to 64 bits.
			x := int64(v)
			if x < math.MinInt32 || x > math.MaxInt32 {
				return fmt.Errorf("TrainerSpec: field %d = %d is out of the int32 range: %w", num, x, errs.ErrFormat)
			}
			*dst = int(x)
		}
		return nil
	})
}

func (m *Model) normalizer(b []byte) error {
	return fields(b, "NormalizerSpec", func(num, wire int, v uint64, data []byte) error {
		switch {
		case num == 1 && wire == wireBytes:
			m.NormalizerName = string(data)
		case num == 3 && wire == wireVarint:
			m.AddDummyPrefix = v != 0
		case num == 4 && wire == wireVarint:
			m.RemoveExtraSpace = v != 0
		case num == 5 && wire == wireVarint:
			m.EscapeSpaces = v != 0
		}
		return nil
	})
}

// Protocol buffer wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// fields walks the fields of one message, calling fn with the field number,
// wire type, and the value (varints and fixed) or bytes (length-delimited).
func fields(b []byte, msg string, fn func(num, wire int, v uint64, data []byte) error) error {
	for pos := 0; pos < len(b); {
		key, n := binary.Uvarint(b[pos:])
		if n <= 0 {
			return fmt.Errorf("%s: bad field key at byte %d: %w", msg, pos, errs.ErrFormat)
		}
		if key>>3 == 0 || key>>3 > 1<<29-1 {
			return fmt.Errorf("%s: invalid field number %d at byte %d: %w", msg, key>>3, pos, errs.ErrFormat)
		}
		pos += n
		num, wire := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wire {
		case wireVarint:
			if v, n = binary.Uvarint(b[pos:]); n <= 0 {
				return fmt.Errorf("%s: bad varint at byte %d: %w", msg, pos, errs.ErrFormat)
			}
			pos += n
		case wireFixed64:
			if len(b)-pos < 8 {
				return fmt.Errorf("%s: truncated fixed64 at byte %d: %w", msg, pos, errs.ErrFormat)
			}
			v = binary.LittleEndian.Uint64(b[pos:])
			pos += 8
		case wireFixed32:
			if len(b)-pos < 4 {
				return fmt.Errorf("%s: truncated fixed32 at byte %d: %w", msg, pos, errs.ErrFormat)
			}
			v = uint64(binary.LittleEndian.Uint32(b[pos:]))
			pos += 4
		case wireBytes:
			l, n := binary.Uvarint(b[pos:])
			if n <= 0 || l > uint64(len(b)-pos-n) {
				return fmt.Errorf("%s: bad or truncated length at byte %d: %w", msg, pos, errs.ErrFormat)
			}
			pos += n
			data = b[pos : pos+int(l)]
			pos += int(l)
		default:
			return fmt.Errorf("%s: unsupported wire type %d at byte %d: %w", msg, wire, pos, errs.ErrFormat)
		}
		if err := fn(num, wire, v, data); err != nil {
			return err
		}
	}
	return nil
}
