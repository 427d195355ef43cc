package tokenize

import (
	"slices"
	"testing"
)

// storiesGGUF holds the 512-token vocabulary of the TinyStories test models.
const storiesGGUF = "gguf/stories260K-f32.gguf"

// The expected ids come from PyPI sentencepiece 0.2 on models/tok512.model
// (the same vocabulary as a SentencePiece model), sp.encode(text).
var tok512Cases = []struct {
	text string
	ids  []int32
}{
	{"Once upon a time", []int32{403, 407, 261, 378}},
	{"Once upon a time, there was a little girl named Lily.",
		[]int32{403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426}},
	{"The cat sat on the mat. It was happy!",
		[]int32{291, 280, 294, 262, 294, 353, 265, 284, 294, 426, 359, 413, 286, 393, 443}},
	{"Tom and Sue went to the park to play.",
		[]int32{274, 287, 269, 301, 425, 411, 263, 377, 267, 265, 282, 295, 433, 267, 337, 426}},
	{`She said, "Let's share the big red ball!"`,
		[]int32{338, 336, 432, 313, 438, 316, 439, 419, 262, 415, 412, 276, 265, 370, 352, 266, 268, 388, 443, 436}},
	// é and ö are pieces; the emoji goes through <0xNN> byte fallback.
	{"héllo 🙂 wörld", []int32{270, 485, 306, 414, 410, 243, 162, 156, 133, 263, 198, 185, 420, 341}},
	{"日本", []int32{410, 233, 154, 168, 233, 159, 175}},
	// Special-token texts are plain text unless ParseSpecial.
	{"<s>Once upon</s>", []int32{410, 504, 419, 505, 441, 416, 331, 407, 504, 492, 419, 505}},
}

func TestSPMStoriesVocabMatchesSentencePieceIDs(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	for _, c := range tok512Cases {
		got, err := tok.Encode(c.text, EncodeOptions{})
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if !slices.Equal(got, c.ids) {
			t.Errorf("%q:\n got %v\nwant %v", c.text, got, c.ids)
		}
	}
}

func TestSPMStoriesVocabRoundTripsWithBOS(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	for _, c := range tok512Cases {
		ids, err := tok.Encode(c.text, EncodeOptions{AddBOS: true})
		if err != nil {
			t.Fatal(err)
		}
		if ids[0] != 1 || !slices.Equal(ids[1:], c.ids) {
			t.Fatalf("%q with BOS: got %v", c.text, ids)
		}
		got, err := tok.Decode(ids, DecodeOptions{SkipSpecial: true, StripLeadingSpace: true})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.text {
			t.Errorf("round trip of %q gives %q", c.text, got)
		}
	}
}

func TestSPMDecodesGoldenStoryStart(t *testing.T) {
	// The first greedy ids of stories260K after BOS (golden/*.greedy.txt).
	tok := loadGGUF(t, storiesGGUF)
	first := []int32{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426}
	opts := DecodeOptions{SkipSpecial: true, StripLeadingSpace: true}
	for _, c := range []struct {
		n    int
		want string
	}{
		{11, "Once upon a time, there was a little g"}, // 298 is "▁g"
		{16, "Once upon a time, there was a little girl named Lily."},
	} {
		got, err := tok.Decode(first[:c.n], opts)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("first %d ids: got %q, want %q", c.n, got, c.want)
		}
	}
	got, err := tok.Decode(first[:5], DecodeOptions{StripLeadingSpace: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<s> Once upon a time"; got != want {
		t.Errorf("BOS kept: got %q, want %q (no space to strip after <s>)", got, want)
	}
	got, err = tok.Decode(first[1:5], DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := " Once upon a time"; got != want {
		t.Errorf("no strip: got %q, want %q", got, want)
	}
}

func TestSPMStoriesVocabSpecialTokens(t *testing.T) {
	tok := loadGGUF(t, storiesGGUF)
	if tok.Kind() != "spm" || tok.VocabSize() != 512 || tok.BOS() != 1 || tok.EOS() != 2 || tok.UNK() != 0 || tok.PAD() != -1 {
		t.Fatalf("kind %q size %d bos %d eos %d unk %d pad %d",
			tok.Kind(), tok.VocabSize(), tok.BOS(), tok.EOS(), tok.UNK(), tok.PAD())
	}
	for id, want := range map[int32]bool{0: false, 1: true, 2: true, 3: false, 403: false, -1: false, 512: false} {
		if got := tok.IsControl(id); got != want {
			t.Errorf("IsControl(%d) = %v, want %v", id, got, want)
		}
	}
	if d := DefaultEncodeOptions(tok); !d.AddBOS || d.AddEOS || d.ParseSpecial {
		t.Errorf("default encode options %+v, want AddBOS only", d)
	}
	for id, want := range map[int32]string{0: "<unk>", 1: "<s>", 13: "<0x0A>", 403: "▁Once"} {
		got, err := tok.TokenToPiece(id)
		if err != nil || got != want {
			t.Errorf("TokenToPiece(%d) = %q, %v; want %q", id, got, err, want)
		}
	}
}
