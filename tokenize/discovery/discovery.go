// Package discovery finds the tokenizer of a model file: the seed API's
// TokenizerDiscovery, TokenizerStrategy and ModelCompatibilityMatrix.
//
// Discover tries, in order: (1) the tokenizer path the user gave, (2) a
// tokenizer.json or tokenizer.model next to the model file (tokenizer.json
// first), (3) a copy in the cache from an earlier download, (4) the
// vocabulary embedded in the GGUF, (5) a download from the Hugging Face hub,
// the repository chosen by the compatibility matrix from the model's
// architecture and vocabulary size, and (6) a byte-level mock, only when
// allowed and not in strict mode. Each tokenizer found is checked against
// the model's vocabulary size. The Decision says what was chosen, why, and
// what was tried before.
//
// Environment: BITNET_STRICT_TOKENIZERS=1 forbids the mock and turns a
// tokenizer file that fails to load into an error instead of a skipped
// candidate; BITNET_OFFLINE=1 (or HF_HUB_OFFLINE=1) forbids downloads.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/hub"
	"github.com/bitnet-dev/bitnet/tokenize"
)

// EnvStrict, set to 1 (or true, yes, on), makes discovery strict.
const EnvStrict = "BITNET_STRICT_TOKENIZERS"

// DefaultVocabSlack is how many tokens fewer than the model's vocabulary a
// tokenizer may have: embedding tables are often padded (32002 rows for a
// 32000-token LLaMA 2 vocabulary), and a tiktoken file may lack the 256
// reserved special tokens of LLaMA 3.
const DefaultVocabSlack = 256

// Error kinds of this package; both are returned wrapped together with
// errs.ErrTokenization.
var (
	// ErrNoTokenizer: every strategy was tried and none gave a tokenizer.
	ErrNoTokenizer = errors.New("no tokenizer found")
	// ErrVocabMismatch: a tokenizer's vocabulary does not fit the model's.
	ErrVocabMismatch = errors.New("tokenizer vocabulary does not fit the model")
)

// Options controls Discover. The zero value discovers with the hub client
// of hub.NewClient, the default matrix and slack, and no mock.
type Options struct {
	// TokenizerPath, when set, is the only candidate: a file tokenize.Load
	// reads (tokenizer.json, tokenizer.model, tiktoken, GGUF). Failing to
	// load or validate it is an error.
	TokenizerPath string
	// AllowMock permits the MockTokenizer when nothing else is found (never
	// in strict mode).
	AllowMock bool
	// Strict forbids the mock and fails on a tokenizer file that does not
	// load instead of skipping it; BITNET_STRICT_TOKENIZERS=1 sets it too.
	Strict bool
	// Offline forbids downloads; the client's Offline setting and
	// BITNET_OFFLINE=1 / HF_HUB_OFFLINE=1 do too.
	Offline bool
	// Client fetches and caches hub files; nil means hub.NewClient().
	Client *hub.Client
	// Matrix maps model shapes to tokenizer repositories; nil means
	// DefaultMatrix().
	Matrix []Compat
	// ModelVocab overrides the model's vocabulary size (for files that do
	// not record it); 0 reads it from the model.
	ModelVocab int
	// VocabSlack is how many tokens fewer than the model a tokenizer may
	// have; 0 means DefaultVocabSlack, a negative value requires equality.
	VocabSlack int
	// Load reads a tokenizer file; nil means tokenize.Load.
	Load func(path string) (tokenize.Tokenizer, error)
}

// run is the state of one Discover call.
type run struct {
	ctx      context.Context
	opts     Options
	model    Model
	strict   bool
	offline  bool
	client   *hub.Client
	compat   Compat
	hasMatch bool
	dec      Decision
}

// Discover finds the tokenizer for the model file modelPath (see the
// package comment for the order). modelPath may be "" when
// opts.TokenizerPath is set; nothing is validated then.
func Discover(ctx context.Context, modelPath string, opts Options) (tokenize.Tokenizer, Decision, error) {
	m := Model{Path: modelPath}
	if modelPath == "" && opts.TokenizerPath == "" {
		return nil, Decision{}, fmt.Errorf("tokenizer discovery: no model file and no tokenizer path: %w", errs.ErrInvalidArgument)
	}
	if modelPath != "" {
		if _, err := os.Stat(modelPath); err != nil {
			return nil, Decision{}, fmt.Errorf("tokenizer discovery: model file: %w", err)
		}
		var err error
		if m, err = InspectModel(modelPath); err != nil {
			return nil, Decision{}, err
		}
	}
	return DiscoverModel(ctx, m, opts)
}

// DiscoverModel is Discover for a model already inspected (InspectModel,
// or ModelFromGGUF for a file the caller has open).
func DiscoverModel(ctx context.Context, m Model, opts Options) (tokenize.Tokenizer, Decision, error) {
	r := &run{ctx: ctx, opts: opts, model: m}
	r.strict = opts.Strict || envTrue(EnvStrict)
	if r.client = opts.Client; r.client == nil {
		r.client = hub.NewClient()
	}
	r.offline = opts.Offline || r.client.Offline || hub.OfflineFromEnv()
	if r.opts.Load == nil {
		r.opts.Load = tokenize.Load
	}
	if r.opts.Matrix == nil {
		r.opts.Matrix = DefaultMatrix()
	}
	if m.Path == "" && opts.TokenizerPath == "" {
		return nil, r.dec, fmt.Errorf("tokenizer discovery: no model file and no tokenizer path: %w", errs.ErrInvalidArgument)
	}
	if opts.ModelVocab > 0 {
		r.model.Vocab, r.model.VocabFrom = opts.ModelVocab, "options"
	}
	r.dec.ModelVocab = r.model.Vocab
	r.compat, r.hasMatch = Match(r.opts.Matrix, r.model.Arch, r.model.Vocab)

	steps := []func() (tokenize.Tokenizer, error){r.exact, r.colocated, r.cached, r.embedded, r.download, r.mock}
	for _, step := range steps {
		tok, err := step()
		if err != nil || tok != nil {
			if err != nil {
				r.dec.Strategy, r.dec.Path, r.dec.Repo, r.dec.Reason = None, "", "", ""
			}
			return tok, r.dec, err
		}
	}
	return nil, r.dec, &notFoundError{fmt.Sprintf("tokenizer discovery: no tokenizer for %s (tried: %s); give a tokenizer file",
		m.Path, strings.Join(r.dec.Tried, "; "))}
}

// notFoundError wraps ErrNoTokenizer and errs.ErrTokenization.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string   { return e.msg + ": " + ErrNoTokenizer.Error() }
func (e *notFoundError) Unwrap() []error { return []error{ErrNoTokenizer, errs.ErrTokenization} }
