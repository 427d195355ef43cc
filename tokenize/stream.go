package tokenize

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns ids into text one id at a time and never emits a
// partial UTF-8 sequence: it holds back bytes until a character completes
// (byte-fallback tokens <0xNN> can split characters). Bytes that can never
// become a valid character are emitted as U+FFFD, one per byte, so the
// concatenated output equals the Decode of all ids with its invalid bytes
// replaced that way (as Go's []rune conversion does).
//
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t       Tokenizer
	opts    DecodeOptions
	pending []byte // bytes of an incomplete character
	started bool   // a piece with text was seen (leading space handled)
}

// NewStreamDecoder returns a decoder that decodes with t and opts.
func NewStreamDecoder(t Tokenizer, opts DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: opts}
}

// Push decodes id and returns the text it completes (may be "").
func (d *StreamDecoder) Push(id int32) (string, error) {
	o := d.opts
	o.StripLeadingSpace = false
	p, err := d.t.Decode([]int32{id}, o)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", nil
	}
	if !d.started {
		d.started = true
		if d.opts.StripLeadingSpace {
			p = strings.TrimPrefix(p, " ")
		}
	}
	d.pending = append(d.pending, p...)
	return d.drain(false), nil
}

// Flush returns whatever is held back, an incomplete character becoming
// U+FFFD per byte. The decoder can go on with Push afterwards.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

// drain emits the complete characters at the start of pending; with final,
// everything.
func (d *StreamDecoder) drain(final bool) string {
	var b strings.Builder
	i := 0
	for i < len(d.pending) {
		rest := d.pending[i:]
		r, size := utf8.DecodeRune(rest)
		if r == utf8.RuneError && size <= 1 {
			if !final && !utf8.FullRune(rest) {
				break // a prefix of a character that may still complete
			}
			b.WriteRune(utf8.RuneError)
			i++
			continue
		}
		b.Write(rest[:size])
		i += size
	}
	d.pending = d.pending[:copy(d.pending, d.pending[i:])]
	return b.String()
}
