package sentencepiece

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

// pb is the tests' own protocol buffer encoder.
type pb []byte

func (p pb) key(num, wire int) pb { return binary.AppendUvarint(p, uint64(num)<<3|uint64(wire)) }

func (p pb) varint(num int, v uint64) pb { return binary.AppendUvarint(p.key(num, 0), v) }

// int32 fields encode negative values sign-extended to 64 bits.
func (p pb) int32(num int, v int32) pb { return p.varint(num, uint64(int64(v))) }

func (p pb) fixed32(num int, v uint32) pb { return binary.LittleEndian.AppendUint32(p.key(num, 5), v) }

func (p pb) fixed64(num int, v uint64) pb { return binary.LittleEndian.AppendUint64(p.key(num, 1), v) }

func (p pb) bytes(num int, b []byte) pb {
	return append(binary.AppendUvarint(p.key(num, 2), uint64(len(b))), b...)
}

func piece(s string, score float32, typ int) pb {
	m := pb(nil).bytes(1, []byte(s)).fixed32(2, math.Float32bits(score))
	if typ != Normal {
		m = m.varint(3, uint64(typ))
	}
	return m
}

// smallModel is a BPE model like tok512.model, with its fields in the same
// order (pieces, trainer spec, normalizer spec), and the offsets where a
// top-level field ends.
func smallModel() (b pb, ends []int) {
	pieces := []pb{
		piece("<unk>", 0, Unknown), piece("<s>", 0, Control), piece("</s>", 0, Control),
		piece("<0x41>", 0, Byte), piece("\u2581a", -1, Normal), piece("b", -2.5, Normal), piece("<pad>", 0, UserDefined),
	}
	for _, p := range pieces {
		b = b.bytes(1, p)
		ends = append(ends, len(b))
	}
	trainer := pb(nil).bytes(1, []byte("data.txt")).varint(3, BPE).varint(4, 7).fixed32(10, math.Float32bits(1)).
		varint(35, 1).int32(40, 0).int32(41, 1).int32(42, 2).int32(43, -1)
	b = b.bytes(2, trainer)
	ends = append(ends, len(b))
	norm := pb(nil).bytes(1, []byte("identity")).bytes(2, nil).varint(3, 1).varint(4, 0)
	b = b.bytes(3, norm)
	ends = append(ends, len(b))
	return b, ends
}

func TestParseSmallModelReadsPiecesAndSpecs(t *testing.T) {
	b, _ := smallModel()
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	wantPieces := []string{"<unk>", "<s>", "</s>", "<0x41>", "\u2581a", "b", "<pad>"}
	wantScores := []float32{0, 0, 0, 0, -1, -2.5, 0}
	wantTypes := []int32{Unknown, Control, Control, Byte, Normal, Normal, UserDefined}
	for i := range wantPieces {
		if m.Pieces[i] != wantPieces[i] || m.Scores[i] != wantScores[i] || m.Types[i] != wantTypes[i] {
			t.Errorf("piece %d: %q %v %d, want %q %v %d", i, m.Pieces[i], m.Scores[i], m.Types[i], wantPieces[i], wantScores[i], wantTypes[i])
		}
	}
	if len(m.Pieces) != 7 || len(m.Scores) != 7 || len(m.Types) != 7 {
		t.Errorf("%d/%d/%d pieces/scores/types, want 7", len(m.Pieces), len(m.Scores), len(m.Types))
	}
	if m.ModelType != BPE || !m.ByteFallback || m.UnkID != 0 || m.BOSID != 1 || m.EOSID != 2 || m.PadID != -1 {
		t.Errorf("trainer: type %d byte_fallback %v ids %d %d %d %d", m.ModelType, m.ByteFallback, m.UnkID, m.BOSID, m.EOSID, m.PadID)
	}
	if m.NormalizerName != "identity" || !m.AddDummyPrefix || m.RemoveExtraSpace || !m.EscapeSpaces {
		t.Errorf("normalizer: %q dummy prefix %v remove extra %v escape %v", m.NormalizerName, m.AddDummyPrefix, m.RemoveExtraSpace, m.EscapeSpaces)
	}
}

func TestParseAppliesProtoDefaultsWhenSpecsAreAbsent(t *testing.T) {
	var b pb
	for _, s := range []string{"<unk>", "<s>", "</s>", "x"} {
		b = b.bytes(1, pb(nil).bytes(1, []byte(s)))
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.ModelType != Unigram || m.ByteFallback || m.UnkID != 0 || m.BOSID != 1 || m.EOSID != 2 || m.PadID != -1 {
		t.Errorf("trainer defaults: type %d byte_fallback %v ids %d %d %d %d", m.ModelType, m.ByteFallback, m.UnkID, m.BOSID, m.EOSID, m.PadID)
	}
	if !m.AddDummyPrefix || !m.RemoveExtraSpace || !m.EscapeSpaces {
		t.Errorf("normalizer defaults: %v %v %v, want all true", m.AddDummyPrefix, m.RemoveExtraSpace, m.EscapeSpaces)
	}
	if m.Types[3] != Normal || m.Scores[3] != 0 {
		t.Errorf("piece defaults: type %d score %v, want normal and 0", m.Types[3], m.Scores[3])
	}
}

func TestParseSkipsUnknownFieldsOfEveryWireType(t *testing.T) {
	b, _ := smallModel()
	extra := pb(nil).varint(99, 5).fixed64(100, 1).fixed32(101, 2).bytes(102, []byte("x"))
	m, err := Parse(append(append(pb(nil), extra...), b...))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pieces) != 7 {
		t.Errorf("%d pieces, want 7", len(m.Pieces))
	}
	// Unknown fields inside a piece and inside the trainer spec too.
	p := piece("<unk>", 0, Unknown).fixed64(9, 3)
	b2 := pb(nil).bytes(1, p).bytes(1, piece("<s>", 0, Control)).bytes(1, piece("</s>", 0, Control)).
		bytes(2, pb(nil).bytes(50, []byte("zz")).varint(3, BPE))
	if m, err = Parse(b2); err != nil || m.ModelType != BPE {
		t.Errorf("unknown nested fields: %v, model type %v", err, m)
	}
}

func TestParseEveryTruncationFailsOrEndsAtAField(t *testing.T) {
	b, ends := smallModel()
	boundary := map[int]bool{0: true}
	for _, e := range ends {
		boundary[e] = true
	}
	for n := 0; n < len(b); n++ {
		m, err := parseNoPanic(t, b[:n])
		if !boundary[n] {
			if !errors.Is(err, errs.ErrFormat) {
				t.Errorf("truncated inside a field at %d of %d bytes: error %v, want ErrFormat", n, len(b), err)
			}
			continue
		}
		// A cut between fields is a valid shorter message: it parses, or
		// fails the model checks (too few pieces for the special ids).
		if err != nil && !errors.Is(err, errs.ErrFormat) {
			t.Errorf("cut at %d: error %v does not wrap ErrFormat", n, err)
		}
		if err == nil && len(m.Pieces) > 7 {
			t.Errorf("cut at %d: %d pieces", n, len(m.Pieces))
		}
	}
}

func parseNoPanic(t *testing.T, b []byte) (m *Model, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse(%x) panicked: %v", b, r)
		}
	}()
	return Parse(b)
}

func TestParseCorruptInputsAreFormatErrors(t *testing.T) {
	good, _ := smallModel()
	// three pieces followed by extra (a fresh slice each time).
	three := func(extra pb) pb {
		b := pb(nil).bytes(1, piece("<unk>", 0, Unknown)).bytes(1, piece("<s>", 0, Control)).bytes(1, piece("</s>", 0, Control))
		return append(b, extra...)
	}
	cases := []struct {
		name string
		b    []byte
		word string
	}{
		{"empty", nil, "no pieces"},
		{"no pieces", pb(nil).bytes(2, pb(nil).varint(3, BPE)), "no pieces"},
		{"field number 0", append(pb{0x02, 0x00}, good...), "field number 0"},
		{"group wire type", append(pb(nil).key(5, 3), good...), "wire type 3"},
		{"wire type 7", append(pb(nil).key(5, 7), good...), "wire type 7"},
		{"overlong varint key", pb{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, "field key"},
		{"overlong varint value", append(pb(nil).key(9, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), "varint"},
		{"length past the end", append(pb(nil).key(1, 2), 0x7f, 0x0a), "length"},
		{"huge length", append(pb(nil).key(1, 2), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "length"},
		{"truncated fixed32", three(pb(nil).key(9, 5)), "fixed32"},
		{"truncated fixed64", three(pb(nil).key(9, 1)), "fixed64"},
		{"bad piece type", three(pb(nil).bytes(1, piece("x", 0, 7))), "type 7"},
		{"piece type 0", three(pb(nil).bytes(1, pb(nil).varint(3, 0))), "type 0"},
		{"corrupt piece", three(pb(nil).bytes(1, pb{0x0a, 0x05, 'a'})), "SentencePiece"},
		{"corrupt trainer", three(pb(nil).bytes(2, pb{0x18})), "TrainerSpec"},
		{"corrupt normalizer", three(pb(nil).bytes(3, pb{0x0d, 0x00})), "NormalizerSpec"},
		{"unk outside", three(pb(nil).bytes(2, pb(nil).int32(40, 3))), "unk_id 3"},
		{"unk negative", three(pb(nil).bytes(2, pb(nil).int32(40, -1))), "unk_id -1"},
		{"bos outside", three(pb(nil).bytes(2, pb(nil).int32(41, 100))), "bos_id 100"},
		{"eos below -1", three(pb(nil).bytes(2, pb(nil).int32(42, -2))), "eos_id -2"},
		{"pad outside", three(pb(nil).bytes(2, pb(nil).int32(43, 3))), "pad_id 3"},
		{"id above int32", three(pb(nil).bytes(2, pb(nil).varint(41, 1<<40))), "int32"},
		{"unknown model type", three(pb(nil).bytes(2, pb(nil).varint(3, 9))), "model type 9"},
	}
	for _, c := range cases {
		_, err := parseNoPanic(t, c.b)
		if !errors.Is(err, errs.ErrFormat) {
			t.Errorf("%s: error %v, want ErrFormat", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.word) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.word)
		}
	}
}

func TestReadFileNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.model")
	if err := os.WriteFile(p, []byte{0x0a, 0x7f}, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	if !errors.Is(err, errs.ErrFormat) || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v: want ErrFormat naming %s", err, p)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "absent.model")); err == nil || errors.Is(err, errs.ErrFormat) {
		t.Errorf("missing file: error %v, want a file-system error", err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := smallModel()
	f.Add([]byte(b))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Add([]byte(pb(nil).bytes(1, piece("<unk>", 0, Unknown)).bytes(2, pb(nil).int32(41, -1).int32(42, -1))))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, errs.ErrFormat) {
				t.Fatalf("error %q does not wrap ErrFormat", err)
			}
			return
		}
		n := len(m.Pieces)
		if n == 0 || len(m.Scores) != n || len(m.Types) != n {
			t.Fatalf("accepted a model with %d pieces, %d scores, %d types", n, len(m.Scores), len(m.Types))
		}
		if m.UnkID < 0 || m.UnkID >= n || m.BOSID >= n || m.EOSID >= n || m.BOSID < -1 || m.EOSID < -1 {
			t.Fatalf("accepted special ids %d %d %d for %d pieces", m.UnkID, m.BOSID, m.EOSID, n)
		}
	})
}
