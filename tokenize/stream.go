package tokenize

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns ids into text one id at a time and never emits a
// partial UTF-8 sequence: it holds back bytes until a character completes
// (byte-fallback tokens <0xNN> and byte-level BPE tokens can split
// characters). Bytes that can never
// become a valid character are emitted as U+FFFD, one per byte, so the
// concatenated output equals the Decode of all ids with its invalid bytes
// replaced that way (as Go's []rune conversion does).
//
// A StreamDecoder is not safe for concurrent use.
type StreamDecoder struct {
	t       Tokenizer
	opts    DecodeOptions
	pending []byte  // bytes of an incomplete character
	started bool    // text came out (leading space handled)
	head    []int32 // ids before any text came out, with StripLeadingSpace
}

// NewStreamDecoder returns a decoder that decodes with t and opts.
func NewStreamDecoder(t Tokenizer, opts DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: opts}
}

// Push decodes id and returns the text it completes (may be "").
func (d *StreamDecoder) Push(id int32) (string, error) {
	if !d.started && d.opts.StripLeadingSpace {
		// Until some text comes out, decode the ids so far that have text
		// together, so that the tokenizer applies its own leading-space
		// rule (ids without text, such as skipped specials, play no part).
		o := d.opts
		o.StripLeadingSpace = false
		if raw, err := d.t.Decode([]int32{id}, o); err != nil || raw == "" {
			return "", err
		}
		p, err := d.t.Decode(append(d.head, id), d.opts)
		if err != nil {
			return "", err
		}
		d.head = append(d.head, id)
		if p == "" {
			return "", nil
		}
		d.started, d.head = true, nil
		d.pending = append(d.pending, p...)
		return d.drain(false), nil
	}
	o := d.opts
	o.StripLeadingSpace = false
	p, err := d.t.Decode([]int32{id}, o)
	if err != nil {
		return "", err
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
