package discovery

// Strategy is how the tokenizer was found.
type Strategy int

// Strategies, in the order Discover tries them.
const (
	// None: no tokenizer was found (the zero value).
	None Strategy = iota
	// Exact: the path given in Options.TokenizerPath.
	Exact
	// Colocated: tokenizer.json or tokenizer.model next to the model file.
	Colocated
	// Cached: a copy in bitnet's or the Hugging Face cache.
	Cached
	// Embedded: the vocabulary in the GGUF's tokenizer.ggml.* metadata.
	Embedded
	// Downloaded: fetched from the hub into bitnet's cache.
	Downloaded
	// Mock: the byte-level MockTokenizer (tests only).
	Mock
)

// String names the strategy ("exact", "co-located", ...).
func (s Strategy) String() string {
	switch s {
	case Exact:
		return "exact"
	case Colocated:
		return "co-located"
	case Cached:
		return "cached"
	case Embedded:
		return "embedded"
	case Downloaded:
		return "downloaded"
	case Mock:
		return "mock"
	}
	return "none"
}

// RequiresNetwork reports whether the strategy downloaded something.
func (s Strategy) RequiresNetwork() bool { return s == Downloaded }

// UsesCache reports whether the tokenizer file lives in a download cache.
func (s Strategy) UsesCache() bool { return s == Cached || s == Downloaded }

// Decision reports what Discover chose and why.
type Decision struct {
	// Strategy is how the tokenizer was found (None on failure).
	Strategy Strategy
	// Path is the tokenizer file (the model file for Embedded, "" for Mock).
	Path string
	// Repo is the hub repository for Cached and Downloaded.
	Repo string
	// Reason explains the choice in one sentence.
	Reason string
	// Tried lists the candidates looked at before, with why each was not
	// used.
	Tried []string
	// ModelVocab is the model's vocabulary size (0 when unknown).
	ModelVocab int
}
