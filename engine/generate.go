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
	PromptTokens    int
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

// Generate evaluates prompt (appended to what the session holds) and then
// generates tokens, calling emit (if not nil) for each; emit returning false
// stops generation. The text is decoded with the model's tokenizer (empty
// when the model has none).
func (s *Session) Generate(ctx context.Context, prompt []int32, opts GenerateOptions, emit func(Piece) bool) (*Result, error) {
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
	g := newGenState(s.m.Tokenizer, s.m.stopTokens, prompt, s.tokens, opts, emit)
	res := &Result{Timing: Timing{PromptTokens: len(prompt)}}

	t0 := time.Now()
	var logits []float32
	if len(prompt) > 0 {
		if logits, err = s.Forward(prompt, false); err != nil {
			return nil, fmt.Errorf("generate: prefill: %w", err)
		}
	} else {
		// Continue the sequence: re-evaluate its last token for logits.
		seq := s.Tokens()
		last := seq[len(seq)-1]
		if err := s.Truncate(len(seq) - 1); err != nil {
			return nil, err
		}
		if logits, err = s.Forward([]int32{last}, false); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	res.Timing.Prefill = time.Since(t0)
	t1 := time.Now()
	defer func() {
		res.Timing.Decode = time.Since(t1)
		res.Timing.GeneratedTokens = len(res.Tokens)
	}()

	unevaluated := false
	for {
		if err := ctx.Err(); err != nil {
			res.StopReason, res.Text = StopCanceled, g.finish()
			return res, fmt.Errorf("generate: %w: %w", errs.ErrCanceled, err)
		}
		id, err := smp.Sample(logits, s.tokens)
		if err != nil {
			res.Text = g.finish()
			return res, fmt.Errorf("generate: sampling after %d tokens: %w", len(res.Tokens), err)
		}
		if g.isStop(id) {
			res.StopReason = StopEOS
			break
		}
		res.Tokens = append(res.Tokens, id)
		unevaluated = true
		stopped, keepGoing, err := g.push(id)
		if err != nil {
			res.Text = g.finish()
			return res, fmt.Errorf("generate: %w", err)
		}
		if stopped {
			res.StopReason = StopSequence
			break
		}
		if !keepGoing {
			res.StopReason = StopByCaller
			break
		}
		if len(res.Tokens) >= opts.MaxNewTokens {
			res.StopReason = StopMaxTokens
			break
		}
		if s.pos >= s.m.ctxLen {
			res.StopReason = StopContextFull
			break
		}
		if logits, err = s.Forward([]int32{id}, false); err != nil {
			res.Text = g.finish()
			return res, fmt.Errorf("generate: %w", err)
		}
		unevaluated = false
	}
	if unevaluated {
		// The last token was sampled but not evaluated: it stays in the
		// sequence, evaluated when the sequence continues.
		s.pending = append(s.pending, res.Tokens[len(res.Tokens)-1])
	}
	res.Text = g.finish()
	return res, nil
}

// genState turns generated tokens into text, holding back bytes of
// incomplete characters and text that may be the start of a stop sequence.
type genState struct {
	tok     tokenize.Tokenizer
	dec     *tokenize.StreamDecoder
	stops   []string
	stopIDs map[int32]bool
	emit    func(Piece) bool
	text    strings.Builder
	emitted int // bytes of text already passed to emit
	done    bool
}

func newGenState(tok tokenize.Tokenizer, eog, prompt, history []int32, opts GenerateOptions, emit func(Piece) bool) *genState {
	g := &genState{tok: tok, emit: emit, stopIDs: map[int32]bool{}}
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
		prev := prompt
		if len(prev) == 0 {
			prev = history
		}
		strip := len(prev) > 0 && prev[len(prev)-1] == tok.BOS()
		g.dec = tokenize.NewStreamDecoder(tok, tokenize.DecodeOptions{SkipSpecial: opts.SkipSpecialTokens, StripLeadingSpace: strip})
	}
	return g
}

func (g *genState) isStop(id int32) bool { return g.stopIDs[id] }

// push adds a generated token. It reports whether a stop sequence ended the
// text and whether the caller wants more.
func (g *genState) push(id int32) (stopped, more bool, err error) {
	piece := ""
	if g.dec != nil {
		if piece, err = g.dec.Push(id); err != nil {
			return false, false, err
		}
	}
	g.text.WriteString(piece)
	full := g.text.String()
	safe := len(full)
	for _, s := range g.stops {
		from := max(0, g.emitted-len(s)+1)
		if i := strings.Index(full[from:], s); i >= 0 {
			cut := from + i
			g.resetText(full[:cut])
			stopped = true
			safe = min(safe, cut)
		}
	}
	if !stopped {
		safe = len(full) - heldBack(full[g.emitted:], g.stops)
	}
	more = g.send(id, safe)
	return stopped, more, nil
}

func (g *genState) resetText(s string) {
	g.text.Reset()
	g.text.WriteString(s)
	g.done = true
}

// send passes text up to byte safe to the callback.
func (g *genState) send(id int32, safe int) bool {
	if g.emit == nil {
		g.emitted = max(g.emitted, safe)
		return true
	}
	full := g.text.String()
	piece := ""
	if safe > g.emitted {
		piece = full[g.emitted:safe]
		g.emitted = safe
	}
	return g.emit(Piece{Token: id, Text: piece})
}

// finish flushes held-back text and returns the whole text.
func (g *genState) finish() string {
	if g.dec != nil && !g.done {
		g.text.WriteString(g.dec.Flush())
		g.done = true
	}
	full := g.text.String()
	if g.emit != nil && len(full) > g.emitted {
		g.emit(Piece{Token: -1, Text: full[g.emitted:]})
		g.emitted = len(full)
	}
	return full
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
