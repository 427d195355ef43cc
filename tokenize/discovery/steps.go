package discovery

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
	"github.com/bitnet-dev/bitnet/hub"
	"github.com/bitnet-dev/bitnet/tokenize"
)

func (r *run) skip(format string, args ...any) {
	r.dec.Tried = append(r.dec.Tried, fmt.Sprintf(format, args...))
}

func (r *run) choose(tok tokenize.Tokenizer, s Strategy, path, repo, reason string) tokenize.Tokenizer {
	r.dec.Strategy, r.dec.Path, r.dec.Repo, r.dec.Reason = s, path, repo, reason
	return tok
}

// candidate loads a tokenizer file found by strategy s and checks its
// vocabulary. A file that does not load is skipped (an error in strict
// mode); a vocabulary mismatch is always an error. onReject runs before a
// failed candidate is given up (to remove a bad download).
func (r *run) candidate(s Strategy, path, repo, reason string, onReject func()) (tokenize.Tokenizer, error) {
	tok, err := r.opts.Load(path)
	if err == nil {
		err = r.checkVocab(tok, path)
		if err != nil {
			if onReject != nil {
				onReject()
			}
			return nil, err
		}
		return r.choose(tok, s, path, repo, reason), nil
	}
	if onReject != nil {
		onReject()
	}
	if r.strict {
		return nil, fmt.Errorf("tokenizer discovery: %s tokenizer %s (strict mode): %w", s, path, err)
	}
	r.skip("%s %s: does not load: %v", s, path, err)
	return nil, nil
}

// checkVocab requires modelVocab-slack <= tokenizer vocabulary <= modelVocab.
func (r *run) checkVocab(tok tokenize.Tokenizer, what string) error {
	mv, tv := r.model.Vocab, tok.VocabSize()
	if mv <= 0 {
		return nil
	}
	slack := r.opts.VocabSlack
	switch {
	case slack == 0:
		slack = DefaultVocabSlack
	case slack < 0:
		slack = 0
	}
	if tv > mv {
		return fmt.Errorf("tokenizer discovery: %s has %d tokens, more than the model's %d (%s): it belongs to another model: %w (%w)",
			what, tv, mv, r.model.VocabFrom, ErrVocabMismatch, errs.ErrTokenization)
	}
	if tv < mv-slack {
		return fmt.Errorf("tokenizer discovery: %s has %d tokens, the model %d (%s); at most %d fewer are allowed: it belongs to another model: %w (%w)",
			what, tv, mv, r.model.VocabFrom, slack, ErrVocabMismatch, errs.ErrTokenization)
	}
	return nil
}

func (r *run) exact() (tokenize.Tokenizer, error) {
	p := r.opts.TokenizerPath
	if p == "" {
		r.skip("exact: no tokenizer path given")
		return nil, nil
	}
	tok, err := r.opts.Load(p)
	if err != nil {
		return nil, fmt.Errorf("tokenizer discovery: tokenizer %s: %w", p, err)
	}
	if err := r.checkVocab(tok, p); err != nil {
		return nil, err
	}
	return r.choose(tok, Exact, p, "", "tokenizer path given by the caller"), nil
}

// colocatedNames are the file names looked for next to the model, in order
// of preference.
var colocatedNames = [...]string{"tokenizer.json", "tokenizer.model"}

func (r *run) colocated() (tokenize.Tokenizer, error) {
	if r.model.Path == "" {
		return nil, nil
	}
	dir := filepath.Dir(r.model.Path)
	for _, name := range colocatedNames {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			r.skip("co-located %s: absent", p)
			continue
		}
		tok, err := r.candidate(Colocated, p, "", name+" next to the model file", nil)
		if tok != nil || err != nil {
			return tok, err
		}
	}
	return nil, nil
}

// matchText describes the matrix row chosen for the model.
func (r *run) matchText() string {
	return fmt.Sprintf("%s (matrix row %s: architecture %q, vocabulary %d)",
		r.compat.Repo+"/"+r.compat.File, r.compat.Name, r.model.Arch, r.model.Vocab)
}

func (r *run) noMatch(step string) {
	r.skip("%s: no known repository for architecture %q with vocabulary %d", step, r.model.Arch, r.model.Vocab)
}

func (r *run) cached() (tokenize.Tokenizer, error) {
	if r.model.Path == "" {
		return nil, nil
	}
	if !r.hasMatch {
		r.noMatch("cached")
		return nil, nil
	}
	c := r.compat
	p, ok := r.client.CachedFile(c.Repo, c.Revision, c.File)
	if !ok {
		r.skip("cached %s/%s: not in the cache", c.Repo, c.File)
		return nil, nil
	}
	return r.candidate(Cached, p, c.Repo, "cached copy of "+r.matchText(), r.removeFlat(p))
}

// removeFlat returns a function deleting p when it is the flat cache's copy
// of the matched file (the Hugging Face cache, shared with Python, is left
// alone).
func (r *run) removeFlat(p string) func() {
	c := r.compat
	return func() {
		if fp, err := r.client.FlatPath(c.Repo, c.Revision, c.File); err == nil && fp == p {
			_ = r.client.RemoveCached(c.Repo, c.Revision, c.File)
		}
	}
}

func (r *run) embedded() (tokenize.Tokenizer, error) {
	md := r.model.Metadata
	switch {
	case r.model.Path == "":
		return nil, nil
	case md == nil:
		r.skip("embedded: %s is not a GGUF file", r.model.Path)
		return nil, nil
	case !md.Has(tokenize.KeyModel):
		r.skip("embedded: %s has no %s", r.model.Path, tokenize.KeyModel)
		return nil, nil
	}
	tok, err := tokenize.FromGGUF(md)
	if err != nil {
		if r.strict {
			return nil, fmt.Errorf("tokenizer discovery: embedded vocabulary of %s (strict mode): %w", r.model.Path, err)
		}
		r.skip("embedded: %v", err)
		return nil, nil
	}
	if err := r.checkVocab(tok, "the vocabulary embedded in "+r.model.Path); err != nil {
		return nil, err
	}
	kind, _ := md.String(tokenize.KeyModel)
	return r.choose(tok, Embedded, r.model.Path, "", fmt.Sprintf("vocabulary embedded in the GGUF (%s %q)", tokenize.KeyModel, kind)), nil
}

func (r *run) download() (tokenize.Tokenizer, error) {
	switch {
	case r.model.Path == "":
		return nil, nil
	case !r.hasMatch:
		r.noMatch("download")
		return nil, nil
	case r.offline:
		r.skip("download %s/%s: offline mode (%s or %s)", r.compat.Repo, r.compat.File, hub.EnvBitnetOffline, hub.EnvHubOffline)
		return nil, nil
	}
	c := r.compat
	p, err := r.client.FlatFile(r.ctx, c.Repo, c.Revision, c.File)
	if err != nil {
		if r.ctx.Err() != nil || r.strict {
			return nil, fmt.Errorf("tokenizer discovery: download: %w", err)
		}
		r.skip("download %s/%s: %v", c.Repo, c.File, err)
		return nil, nil
	}
	for _, name := range c.Companions {
		if _, err := r.client.FlatFile(r.ctx, c.Repo, c.Revision, name); err != nil && !errors.Is(err, hub.ErrNotFound) {
			if r.ctx.Err() != nil {
				return nil, fmt.Errorf("tokenizer discovery: download: %w", err)
			}
			r.skip("download %s/%s (optional): %v", c.Repo, name, err)
		}
	}
	return r.candidate(Downloaded, p, c.Repo, "downloaded "+r.matchText(), r.removeFlat(p))
}

func (r *run) mock() (tokenize.Tokenizer, error) {
	switch {
	case !r.opts.AllowMock:
		r.skip("mock: not allowed")
		return nil, nil
	case r.strict:
		r.skip("mock: strict mode (%s)", EnvStrict)
		return nil, nil
	}
	n := r.model.Vocab
	if n <= 0 {
		n = MockFullVocab
	}
	tok, err := NewMock(n)
	if err != nil {
		return nil, fmt.Errorf("tokenizer discovery: %w", err)
	}
	return r.choose(tok, Mock, "", "", "no tokenizer found; mock tokenizer allowed by the caller"), nil
}

func envTrue(key string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(key))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
