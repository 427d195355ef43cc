package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/kernels"
	"github.com/bitnet-dev/bitnet/sampling"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// modelFlags are the flags every command that loads a model shares.
type modelFlags struct {
	model   string
	threads int
	ctx     int
	kernels string
	device  string
	// progress receives download progress of hf:// models (the flag
	// set's output, stderr).
	progress io.Writer
}

func (m *modelFlags) register(fs *flag.FlagSet) {
	m.progress = fs.Output()
	fs.StringVar(&m.model, "model", "", "the model: a GGUF file, a Hugging Face model folder or .safetensors file, or hf://org/name[@revision] (downloaded into the Hugging Face cache)")
	fs.IntVar(&m.threads, "threads", 0, "compute threads (default: $BITNET_NUM_THREADS, else all cores)")
	fs.IntVar(&m.ctx, "ctx-size", 0, fmt.Sprintf("context length in tokens (default: the model's, at most %d)", engine.DefaultContextLength))
	fs.StringVar(&m.device, "device", "auto", "where to run: auto (the CPU), cpu, cuda, cuda:N")
	fs.StringVar(&m.kernels, "kernels", "", fmt.Sprintf("kernel implementation, one of %v (default: $BITNET_KERNELS, else the first)", kernels.Available()))
}

func (m *modelFlags) load() (*engine.Model, error) {
	if m.model == "" {
		return nil, usageErr("--model is required")
	}
	if m.threads < 0 || m.ctx < 0 {
		return nil, usageErr("--threads and --ctx-size must not be negative")
	}
	dev, err := engine.ParseDevice(m.device)
	if err != nil {
		return nil, usageErr("--device: %v", err)
	}
	path := m.model
	if repo, rev, ok, err := parseHFModel(m.model); err != nil {
		return nil, err
	} else if ok {
		if path, err = resolvePretrained(repo, rev, m.progress); err != nil {
			return nil, err
		}
	}
	return engine.Load(path, engine.Options{Threads: m.threads, ContextLength: m.ctx, Kernels: m.kernels, Device: dev})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type generateOutput struct {
	Model        string   `json:"model"`
	PromptTokens []int32  `json:"prompt_tokens"`
	Tokens       []int32  `json:"tokens"`
	Text         string   `json:"text"`
	StopReason   string   `json:"stop_reason"`
	Timing       timingJS `json:"timing"`
}

type timingJS struct {
	TokenizeMS    float64 `json:"tokenize_ms"`
	PrefillMS     float64 `json:"prefill_ms"`
	DecodeMS      float64 `json:"decode_ms"`
	PrefillTPS    float64 `json:"prefill_tokens_per_second"`
	DecodeTPS     float64 `json:"decode_tokens_per_second"`
	LoadMS        float64 `json:"load_ms"`
	PromptTokens  int     `json:"prompt_token_count"`
	GeneratedToks int     `json:"generated_token_count"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", "--model MODEL [--prompt TEXT] [flags]", `
Generate text from a prompt. The text streams to stdout as it is produced;
statistics go to stderr. With --temperature 0 decoding is greedy and
deterministic; otherwise tokens are sampled with the given seed.

MODEL is a GGUF file, a Hugging Face model folder (config.json, safetensors
weights, tokenizer files) or a .safetensors file beside its config.json, or
hf://org/name[@revision]: the repository's GGUF file if it has one, else its
safetensors checkpoint, found in or downloaded into the Hugging Face cache
($HF_HUB_CACHE, else $HF_HOME/hub; shared with huggingface_hub). HF_ENDPOINT,
HF_TOKEN and HF_HUB_OFFLINE=1 / BITNET_OFFLINE=1 apply.`, stderr)
	var mf modelFlags
	mf.register(fs)
	d := sampling.DefaultConfig()
	prompt := fs.String("prompt", "", "the prompt (default: empty, so generation starts from BOS)")
	promptFile := fs.String("prompt-file", "", "read the prompt from a file")
	maxTokens := fs.Int("max-tokens", 128, "maximum number of tokens to generate")
	temp := fs.Float64("temperature", float64(d.Temperature), "sampling temperature; 0 = greedy")
	topK := fs.Int("top-k", d.TopK, "keep the k most likely tokens; 0 = off")
	topP := fs.Float64("top-p", float64(d.TopP), "nucleus sampling threshold; 1 = off")
	minP := fs.Float64("min-p", float64(d.MinP), "drop tokens below this fraction of the top probability; 0 = off")
	rep := fs.Float64("repeat-penalty", float64(d.RepetitionPenalty), "repetition penalty; 1 = off")
	repN := fs.Int("repeat-last-n", d.RepeatLastN, "how many recent tokens the repetition penalty considers")
	seed := fs.Int64("seed", -1, "random seed; -1 = from the clock")
	asJSON := fs.Bool("json", false, "print one JSON object (token ids, text, timing) instead of streaming text")
	noBOS := fs.Bool("no-bos", false, "do not add the BOS token even if the model asks for it")
	special := fs.Bool("special", false, "parse special-token texts such as <s> in the prompt, and print control tokens")
	ignoreEOS := fs.Bool("ignore-eos", false, "keep generating past end-of-sequence tokens")
	quiet := fs.Bool("quiet", false, "do not print statistics to stderr")
	noEcho := fs.Bool("no-echo", false, "print only the generated text, not the prompt before it")
	var stops stringList
	fs.Var(&stops, "stop", "stop when the text contains this string (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected arguments %q", pos)
	}
	if *promptFile != "" {
		b, err := os.ReadFile(*promptFile)
		if err != nil {
			return err
		}
		*prompt = string(b)
	}
	cfg := sampling.Config{Temperature: float32(*temp), TopK: *topK, TopP: float32(*topP), MinP: float32(*minP),
		RepetitionPenalty: float32(*rep), RepeatLastN: *repN, Seed: uint64(*seed)}
	if *seed < 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	if err := cfg.Validate(); err != nil {
		return usageErr("%v", err)
	}
	if *maxTokens <= 0 {
		return usageErr("--max-tokens must be positive")
	}

	m, err := mf.load()
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Tokenizer == nil {
		return fmt.Errorf("%s carries no tokenizer; use 'bitnet logits --tokens' to run it on token ids: %w", mf.model, errs.ErrTokenization)
	}
	t0 := time.Now()
	eo := tokenize.DefaultEncodeOptions(m.Tokenizer)
	eo.ParseSpecial = *special
	if *noBOS {
		eo.AddBOS = false
	}
	ids, err := m.Tokenizer.Encode(*prompt, eo)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageErr("the prompt is empty and the model adds no BOS token")
	}
	tokenizeTime := time.Since(t0)
	sess, err := m.NewSession()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := engine.GenerateOptions{MaxNewTokens: *maxTokens, Sampling: cfg, StopSequences: stops,
		IgnoreEOS: *ignoreEOS, SkipSpecialTokens: !*special}
	var emit func(engine.Piece) bool
	if !*asJSON {
		if !*noEcho {
			io.WriteString(stdout, *prompt)
		}
		emit = func(p engine.Piece) bool {
			io.WriteString(stdout, p.Text)
			if f, ok := stdout.(*os.File); ok {
				f.Sync()
			}
			return true
		}
	}
	res, err := sess.Generate(ctx, ids, opts, emit)
	if err != nil && res == nil {
		return err
	}
	res.Timing.Tokenize = tokenizeTime
	if *asJSON {
		out := generateOutput{Model: mf.model, PromptTokens: ids, Tokens: res.Tokens, Text: res.Text,
			StopReason: string(res.StopReason), Timing: timing(res.Timing, m)}
		if out.Tokens == nil {
			out.Tokens = []int32{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(out); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintln(stdout)
	}
	if !*quiet {
		t := res.Timing
		fmt.Fprintf(stderr, "\n[%s] load %.0f ms | prompt %d tokens, %.1f tok/s | generated %d tokens, %.1f tok/s | %s, %d threads | stop: %s\n",
			m.Info.Name, ms(m.LoadTime()), t.PromptTokens, t.PrefillTokensPerSecond(), t.GeneratedTokens,
			t.DecodeTokensPerSecond(), m.Backend().Name(), m.Backend().Threads(), res.StopReason)
	}
	return err
}

func timing(t engine.Timing, m *engine.Model) timingJS {
	return timingJS{TokenizeMS: ms(t.Tokenize), PrefillMS: ms(t.Prefill), DecodeMS: ms(t.Decode),
		PrefillTPS: t.PrefillTokensPerSecond(), DecodeTPS: t.DecodeTokensPerSecond(), LoadMS: ms(m.LoadTime()),
		PromptTokens: t.PromptTokens, GeneratedToks: t.GeneratedTokens}
}
