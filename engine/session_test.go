package engine_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/convert"
	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/quant"
	"github.com/bitnet-dev/bitnet/sampling"
)

func randomTiny(t *testing.T, typ quant.Type) *engine.Model {
	t.Helper()
	w, err := convert.Random("tiny", 7, convert.Options{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return loadWriter(t, w)
}

func forward(t *testing.T, m *engine.Model, ids []int32, all bool) []float32 {
	t.Helper()
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Forward(ids, all)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), l...)
}

var sampleIDs = []int32{1, 300, 301, 17, 450, 9, 260, 511, 42, 300}

func TestBatchedPrefillEqualsTokenByTokenLogits(t *testing.T) {
	for _, typ := range []quant.Type{quant.I2_S, quant.TQ2_0, quant.F32} {
		t.Run(typ.String(), func(t *testing.T) {
			m := randomTiny(t, typ)
			all := forward(t, m, sampleIDs, true)
			s, _ := m.NewSession()
			vocab := m.Hyper.Vocab
			for i, id := range sampleIDs {
				l, err := s.Forward([]int32{id}, false)
				if err != nil {
					t.Fatal(err)
				}
				for j, v := range l {
					if v != all[i*vocab+j] {
						t.Fatalf("position %d logit %d: one by one %v, batched %v", i, j, v, all[i*vocab+j])
					}
				}
			}
		})
	}
}

func TestLogitsDoNotDependOnThreadCount(t *testing.T) {
	w, _ := convert.Random("tiny", 3, convert.Options{Type: quant.I2_S})
	m1 := loadWriterOpts(t, w, engine.Options{Threads: 1})
	w, _ = convert.Random("tiny", 3, convert.Options{Type: quant.I2_S})
	m3 := loadWriterOpts(t, w, engine.Options{Threads: 3})
	a, b := forward(t, m1, sampleIDs, true), forward(t, m3, sampleIDs, true)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: 1 thread %v, 3 threads %v", i, a[i], b[i])
		}
	}
}

func TestPrefillLongerThanOneBatchMatchesShortChunks(t *testing.T) {
	w, _ := convert.Random("tiny", 7, convert.Options{Type: quant.I2_S})
	m := loadWriterOpts(t, w, engine.Options{Threads: 2, ContextLength: 1024})
	ids := make([]int32, 300) // more than one internal batch
	for i := range ids {
		ids[i] = int32(3 + i%500)
	}
	s1, _ := m.NewSession()
	if _, err := s1.Forward(ids, false); err != nil {
		t.Fatal(err)
	}
	s2, _ := m.NewSession()
	for i := 0; i < len(ids); i += 7 {
		if _, err := s2.Forward(ids[i:min(i+7, len(ids))], false); err != nil {
			t.Fatal(err)
		}
	}
	l2, _ := s2.Forward([]int32{5}, false)
	l1b, _ := s1.Forward([]int32{5}, false)
	for i := range l2 {
		if l2[i] != l1b[i] {
			t.Fatalf("logit %d differs: %v vs %v", i, l2[i], l1b[i])
		}
	}
}

func TestForwardRejectsBadTokensAndFullContext(t *testing.T) {
	m := randomTiny(t, quant.I2_S)
	s, _ := m.NewSession()
	for _, ids := range [][]int32{{-1}, {int32(m.Hyper.Vocab)}, {}} {
		if _, err := s.Forward(ids, false); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("Forward(%v) = %v, want ErrInvalidArgument", ids, err)
		}
	}
	if s.Pos() != 0 {
		t.Fatalf("a rejected call changed the session: pos %d", s.Pos())
	}
	long := make([]int32, m.ContextLength()+1)
	if _, err := s.Forward(long, false); !errors.Is(err, errs.ErrCapacity) {
		t.Fatalf("over-long input: %v, want ErrCapacity", err)
	}
	if _, err := s.Forward(long[:m.ContextLength()], false); err != nil {
		t.Fatalf("exactly the context length: %v", err)
	}
	if _, err := s.Forward([]int32{1}, false); !errors.Is(err, errs.ErrCapacity) {
		t.Fatalf("past a full context: %v, want ErrCapacity", err)
	}
}

func TestClosedModelGivesErrClosed(t *testing.T) {
	m := randomTiny(t, quant.I2_S)
	s, _ := m.NewSession()
	m.Close()
	if _, err := s.Forward([]int32{1}, false); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("Forward after Close: %v", err)
	}
	if _, err := m.NewSession(); !errors.Is(err, errs.ErrClosed) {
		t.Fatalf("NewSession after Close: %v", err)
	}
}

func greedyConfig() sampling.Config {
	c := sampling.DefaultConfig()
	c.Temperature = 0
	return c
}

func TestGenerateContinuesWhereItStopped(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	whole, _ := greedy(t, m, 40)

	s, _ := m.NewSession()
	opts := engine.GenerateOptions{MaxNewTokens: 15, Sampling: greedyConfig(), IgnoreEOS: true}
	r1, err := s.Generate(context.Background(), []int32{1}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxNewTokens = 25
	r2, err := s.Generate(context.Background(), nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append([]int32(nil), r1.Tokens...), r2.Tokens...)
	if !slices.Equal(got, whole) {
		t.Fatalf("15 then 25 tokens:\n%v\nwant the 40 of one run:\n%v", got, whole)
	}
	if seq := s.Tokens(); len(seq) != 41 || seq[0] != 1 {
		t.Fatalf("session holds %d tokens, want BOS + 40", len(seq))
	}
}

func TestGenerateStopSequenceCutsTextAndStreamsTheSame(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	s, _ := m.NewSession()
	var streamed strings.Builder
	res, err := s.Generate(context.Background(), []int32{1},
		engine.GenerateOptions{MaxNewTokens: 100, Sampling: greedyConfig(), StopSequences: []string{"Lily."}},
		func(p engine.Piece) bool { streamed.WriteString(p.Text); return true })
	if err != nil {
		t.Fatal(err)
	}
	want := "Once upon a time, there was a little girl named "
	if res.StopReason != engine.StopSequence || res.Text != want {
		t.Fatalf("stop %q, text %q; want %q before the stop sequence", res.StopReason, res.Text, want)
	}
	if streamed.String() != res.Text {
		t.Fatalf("streamed %q, returned %q", streamed.String(), res.Text)
	}
}

func TestGenerateCallbackStopsGeneration(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	s, _ := m.NewSession()
	calls := 0
	res, err := s.Generate(context.Background(), []int32{1},
		engine.GenerateOptions{MaxNewTokens: 100, Sampling: greedyConfig()},
		func(p engine.Piece) bool { calls++; return calls < 5 })
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != engine.StopByCaller || len(res.Tokens) != 5 {
		t.Fatalf("stop %q after %d tokens, want %q after 5", res.StopReason, len(res.Tokens), engine.StopByCaller)
	}
}

func TestGenerateHonoursCanceledContext(t *testing.T) {
	m := randomTiny(t, quant.I2_S)
	s, _ := m.NewSession()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := s.Generate(ctx, []int32{1}, engine.GenerateOptions{MaxNewTokens: 10, Sampling: greedyConfig()}, nil)
	if !errors.Is(err, errs.ErrCanceled) || res == nil || res.StopReason != engine.StopCanceled {
		t.Fatalf("canceled context: err %v, result %+v", err, res)
	}
}

func TestGenerateSameSeedSameTokens(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	cfg := sampling.DefaultConfig()
	cfg.Temperature, cfg.Seed = 1, 42
	run := func(seed uint64) []int32 {
		s, _ := m.NewSession()
		cfg.Seed = seed
		r, err := s.Generate(context.Background(), []int32{1}, engine.GenerateOptions{MaxNewTokens: 60, Sampling: cfg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.Tokens
	}
	a, b, c := run(42), run(42), run(43)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different tokens")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds gave the same 60 tokens")
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	m := randomTiny(t, quant.I2_S)
	s, _ := m.NewSession()
	bad := []engine.GenerateOptions{
		{MaxNewTokens: 0, Sampling: greedyConfig()},
		{MaxNewTokens: 5, Sampling: sampling.Config{Temperature: float32(math.NaN()), RepetitionPenalty: 1}},
	}
	for _, o := range bad {
		if _, err := s.Generate(context.Background(), []int32{1}, o, nil); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%+v: %v, want ErrInvalidArgument", o, err)
		}
	}
	if _, err := s.Generate(context.Background(), nil, engine.GenerateOptions{MaxNewTokens: 5, Sampling: greedyConfig()}, nil); !errors.Is(err, errs.ErrInvalidArgument) {
		t.Errorf("empty prompt on an empty session: %v", err)
	}
}

func TestModelInfoDescribesTheModel(t *testing.T) {
	m := convertLlama2c(t, "models/bitllama2c-3M.bin", quant.I2_S)
	i := m.Info
	if i.Architecture != "bitnet" || i.WeightType != "I2_S" || !i.Ternary || i.Parameters == 0 || i.FileSize == 0 {
		t.Fatalf("info %+v", i)
	}
	if i.BitsPerWeight < 2 || i.BitsPerWeight > 2.1 {
		t.Fatalf("bits per weight %v, want just over 2", i.BitsPerWeight)
	}
}

func TestReusePrefixEvaluatesOnlyTheNewPartAndMatchesAFreshSession(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	opts := engine.GenerateOptions{MaxNewTokens: 10, Sampling: greedyConfig(), IgnoreEOS: true, ReusePrefix: true}
	s, _ := m.NewSession()
	first, err := s.Generate(context.Background(), []int32{1, 403, 407}, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	prompt := append([]int32{1, 403, 407}, first.Tokens[:4]...)
	prompt = append(prompt, 261)
	second, err := s.Generate(context.Background(), prompt, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Timing.CachedTokens != 7 || second.Timing.PromptTokens != 1 {
		t.Fatalf("cached %d, evaluated %d; want 7 and 1", second.Timing.CachedTokens, second.Timing.PromptTokens)
	}
	fresh, _ := m.NewSession()
	want, err := fresh.Generate(context.Background(), prompt, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(second.Tokens, want.Tokens) {
		t.Fatalf("with reuse %v, fresh %v", second.Tokens, want.Tokens)
	}
	// The same prompt again: everything but its last token is reused.
	again, _ := s.Generate(context.Background(), prompt, opts, nil)
	if again.Timing.CachedTokens != len(prompt)-1 || !slices.Equal(again.Tokens, want.Tokens) {
		t.Fatalf("repeat: cached %d, tokens %v", again.Timing.CachedTokens, again.Tokens)
	}
}

func TestStartNextStreamsTheSameTokensAsGenerate(t *testing.T) {
	m := convertLlama2c(t, "models/stories260K.bin", quant.F32)
	s, _ := m.NewSession()
	g, err := s.Start(context.Background(), []int32{1}, engine.GenerateOptions{MaxNewTokens: 30, Sampling: greedyConfig()})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		p, ok, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		text.WriteString(p.Text)
	}
	res := g.Close()
	whole, wholeText := greedy(t, m, 30)
	if !slices.Equal(res.Tokens, whole) || text.String() != wholeText || res.Text != wholeText {
		t.Fatalf("pulled %q, generated %q", text.String(), wholeText)
	}
}
