package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/sampling"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// GenerateOptions control one generation.
type GenerateOptions struct {
	// MaxNewTokens bounds the number of generated tokens (> 0).
	MaxNewTokens int
	// Sampling selects greedy decoding (Temperature 0) or sampling.
	Sampling sampling.Config
	// StopSequences end generation when the text contains one of them;
	// the text returned stops before it.
	StopSequences []string
	// StopTokens end generation when sampled (not included in the
	// output). Nil means the model's end-of-generation tokens (EOS, and
	// EOT/EOM where the file names them).
	StopTokens []int32
	// IgnoreEOS keeps generating past end-of-sequence tokens.
	IgnoreEOS bool
	// ReusePrefix keeps the part of the session's sequence that the prompt
	// repeats (its KV cache), evaluating only the rest of the prompt,
	// instead of appending the prompt to the sequence.
	ReusePrefix bool
	// SkipSpecialTokens leaves control tokens out of the text.
	SkipSpecialTokens bool
}

// StopReason says why generation ended.
type StopReason string

// Stop reasons.
const (
	StopMaxTokens   StopReason = "max_tokens"
	StopEOS         StopReason = "eos"
	StopSequence    StopReason = "stop_sequence"
	StopContextFull StopReason = "context_full"
	StopByCaller    StopReason = "stopped" // the callback returned false
	StopCanceled    StopReason = "canceled"
)

// Piece is one step of streamed output: the token sampled and the text it
// completed (possibly empty while a multi-byte character or a possible stop
// sequence is held back). A final flush has Token -1.
type Piece struct {
	Token int32
	Text  string
}

// Timing holds the durations of one generation.
type Timing struct {
	Tokenize        time.Duration
	Prefill         time.Duration
	Decode          time.Duration
	PromptTokens    int // evaluated in the prefill
	CachedTokens    int // of the prompt, reused from the session's cache
	GeneratedTokens int
}

// PrefillTokensPerSecond is the prompt throughput.
func (t Timing) PrefillTokensPerSecond() float64 { return rate(t.PromptTokens, t.Prefill) }

// DecodeTokensPerSecond is the generation throughput (the first token,
// produced by the prefill, is not counted).
func (t Timing) DecodeTokensPerSecond() float64 { return rate(t.GeneratedTokens-1, t.Decode) }

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Result is the outcome of a generation.
type Result struct {
	Tokens     []int32 // generated tokens, stop token excluded
	Text       string
	StopReason StopReason
	Timing     Timing
}

// Generate evaluates prompt (appended to the session's sequence, or
// replacing its end with ReusePrefix) and then generates tokens, calling
// emit (if not nil) for each piece; emit returning false stops generation.
// The text is decoded with the model's tokenizer (empty when the model has
// none). It is Start followed by Next until done.
func (s *Session) Generate(ctx context.Context, prompt []int32, opts GenerateOptions, emit func(Piece) bool) (*Result, error) {
	g, err := s.Start(ctx, prompt, opts)
	if err != nil {
		return nil, err
	}
	for {
		p, ok, err := g.Next()
		if err != nil {
			return g.Close(), err
		}
		if !ok {
			break
		}
		if emit != nil && !emit(p) {
			g.stop(StopByCaller)
			break
		}
	}
	return g.Close(), nil
}

// Generator produces a generation one piece at a time (pull-style
// streaming). It holds its session until Close.
type Generator struct {
	s           *Session
	ctx         context.Context
	opts        GenerateOptions
	smp         *sampling.Sampler
	text        *genState
	res         Result
	logits      []float32
	unevaluated bool // the last sampled token is not in the cache yet
	finished    bool
	flushed     bool
	closed      bool
	t1          time.Time
}

// Start validates opts, evaluates the prompt (the prefill) and returns the
// generator of what follows. With opts.ReusePrefix the part of the session's
// sequence that prompt repeats is kept and only the rest is evaluated;
// otherwise prompt is appended to the sequence. An empty prompt continues
// the sequence.
func (s *Session) Start(ctx context.Context, prompt []int32, opts GenerateOptions) (*Generator, error) {
	if opts.MaxNewTokens <= 0 {
		return nil, fmt.Errorf("generate: max new tokens must be positive, got %d: %w", opts.MaxNewTokens, errs.ErrInvalidArgument)
	}
	if len(prompt) == 0 && s.pos+len(s.pending) == 0 {
		return nil, fmt.Errorf("generate: empty prompt: %w", errs.ErrInvalidArgument)
	}
	smp, err := sampling.New(opts.Sampling)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	cached := 0
	if opts.ReusePrefix && len(prompt) > 0 {
		seq := s.Tokens()
		for cached < len(seq) && cached < len(prompt) && seq[cached] == prompt[cached] {
			cached++
		}
		if cached == len(prompt) {
			cached-- // the last prompt token is re-evaluated for its logits
		}
		if err := s.Truncate(cached); err != nil {
			return nil, err
		}
		prompt = prompt[cached:]
	}
	g := &Generator{s: s, ctx: ctx, opts: opts, smp: smp}
	history := s.Tokens()
	g.text = newGenState(s.m.Tokenizer, s.m.stopTokens, append(history, prompt...), opts)
	g.res.Timing.PromptTokens = len(prompt)
	g.res.Timing.CachedTokens = cached

	t0 := time.Now()
	if len(prompt) == 0 {
		// Continue the sequence: re-evaluate its last token for logits.
		last := history[len(history)-1]
		if err := s.Truncate(len(history) - 1); err != nil {
			return nil, err
		}
		prompt = []int32{last}
	}
	if g.logits, err = s.Forward(prompt, false); err != nil {
		return nil, fmt.Errorf("generate: prefill: %w", err)
	}
	g.res.Timing.Prefill = time.Since(t0)
	g.t1 = time.Now()
	return g, nil
}

// Next returns the next piece: one per generated token (its Text may be
// empty while bytes are held back), then a final flush (Token -1) when text
// remains. ok is false when the generation is over; err reports a failure
// (the partial result stays available from Close).
func (g *Generator) Next() (p Piece, ok bool, err error) {
	if g.finished {
		if !g.flushed {
			g.flushed = true
			if rest := g.text.finish(); rest != "" {
				return Piece{Token: -1, Text: rest}, true, nil
			}
		}
		return Piece{}, false, nil
	}
	s := g.s
	if err := g.ctx.Err(); err != nil {
		g.stop(StopCanceled)
		return Piece{}, false, fmt.Errorf("generate: %w: %w", errs.ErrCanceled, err)
	}
	if g.unevaluated {
		last := g.res.Tokens[len(g.res.Tokens)-1]
		if g.logits, err = s.Forward([]int32{last}, false); err != nil {
			g.stop(StopByCaller)
			return Piece{}, false, fmt.Errorf("generate: %w", err)
		}
		g.unevaluated = false
	}
	id, err := g.smp.Sample(g.logits, s.tokens)
	if err != nil {
		g.stop(StopByCaller)
		return Piece{}, false, fmt.Errorf("generate: sampling after %d tokens: %w", len(g.res.Tokens), err)
	}
	if g.text.isStop(id) {
		g.stop(StopEOS)
		return g.Next()
	}
	g.res.Tokens = append(g.res.Tokens, id)
	g.unevaluated = true
	text, stopped, err := g.text.push(id)
	if err != nil {
		g.stop(StopByCaller)
		return Piece{}, false, fmt.Errorf("generate: %w", err)
	}
	switch {
	case stopped:
		g.stop(StopSequence)
	case len(g.res.Tokens) >= g.opts.MaxNewTokens:
		g.stop(StopMaxTokens)
	case s.pos+len(s.pending) >= s.m.ctxLen:
		g.stop(StopContextFull)
	}
	return Piece{Token: id, Text: text}, true, nil
}

// stop ends the generation with reason (the first reason sticks).
func (g *Generator) stop(reason StopReason) {
	if !g.finished {
		g.finished = true
		g.res.StopReason = reason
	}
}

// Close ends the generation (if it is not over, with StopByCaller) and
// returns its result. The last sampled token, if not evaluated yet, stays
// in the session's sequence, evaluated when the sequence continues.
func (g *Generator) Close() *Result {
	if g.closed {
		return &g.res
	}
	g.closed = true
	g.stop(StopByCaller)
	if g.unevaluated {
		g.s.pending = append(g.s.pending, g.res.Tokens[len(g.res.Tokens)-1])
		g.unevaluated = false
	}
	g.res.Text = g.text.all()
	g.res.Timing.Decode = time.Since(g.t1)
	g.res.Timing.GeneratedTokens = len(g.res.Tokens)
	return &g.res
}

// genState turns generated tokens into text, holding back bytes of
// incomplete characters and text that may be the start of a stop sequence.
type genState struct {
	dec     *tokenize.StreamDecoder
	stops   []string
	stopIDs map[int32]bool
	text    strings.Builder
	emitted int // bytes of text already handed out
	done    bool
}

// newGenState prepares decoding after the sequence seq.
func newGenState(tok tokenize.Tokenizer, eog, seq []int32, opts GenerateOptions) *genState {
	g := &genState{stopIDs: map[int32]bool{}}
	for _, s := range opts.StopSequences {
		if s != "" {
			g.stops = append(g.stops, s)
		}
	}
	if !opts.IgnoreEOS {
		ids := opts.StopTokens
		if ids == nil {
			ids = eog
		}
		for _, id := range ids {
			g.stopIDs[id] = true
		}
	}
	if tok != nil {
		// Text at the start of a sequence loses the space that the
		// SentencePiece convention puts before its first word.
		strip := len(seq) > 0 && seq[len(seq)-1] == tok.BOS()
		g.dec = tokenize.NewStreamDecoder(tok, tokenize.DecodeOptions{SkipSpecial: opts.SkipSpecialTokens, StripLeadingSpace: strip})
	}
	return g
}

func (g *genState) isStop(id int32) bool { return g.stopIDs[id] }

// push adds a generated token and returns the text now safe to hand out,
// and whether a stop sequence ended the text (which is then cut before it).
func (g *genState) push(id int32) (string, bool, error) {
	if g.dec != nil {
		piece, err := g.dec.Push(id)
		if err != nil {
			return "", false, err
		}
		g.text.WriteString(piece)
	}
	full := g.text.String()
	safe := len(full) - heldBack(full[g.emitted:], g.stops)
	cut := -1
	for _, s := range g.stops {
		from := max(0, g.emitted-len(s)+1)
		if i := strings.Index(full[from:], s); i >= 0 && (cut < 0 || from+i < cut) {
			cut = from + i
		}
	}
	stopped := cut >= 0
	if stopped {
		// Held-back text never ends in part of a stop sequence, so the
		// cut is not before what was already handed out.
		safe = max(cut, g.emitted)
		g.text.Reset()
		g.text.WriteString(full[:safe])
		g.done = true
	}
	out := ""
	if safe > g.emitted {
		out = full[g.emitted:safe]
		g.emitted = safe
	}
	return out, stopped, nil
}

// finish flushes the held-back text and returns what was not handed out.
func (g *genState) finish() string {
	if g.dec != nil && !g.done {
		g.text.WriteString(g.dec.Flush())
		g.done = true
	}
	full := g.text.String()
	out := full[g.emitted:]
	g.emitted = len(full)
	return out
}

// all returns the whole text (flushing what is held back).
func (g *genState) all() string {
	g.finish()
	return g.text.String()
}

// heldBack is the length of the longest suffix of s that is a proper prefix
// of one of the stop sequences.
func heldBack(s string, stops []string) int {
	n := 0
	for _, st := range stops {
		for k := min(len(st)-1, len(s)); k > n; k-- {
			if strings.HasSuffix(s, st[:k]) {
				n = k
				break
			}
		}
	}
	return n
}
