package tokenize

import (
	"encoding/json"
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// The split patterns of tokenizer.json that have a hand-written splitter.
const (
	llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	gpt2Pattern   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

var knownPatterns = map[string]string{llama3Pattern: PreLlama3, gpt2Pattern: PreGPT2}

// hfComponent is any normalizer, pre-tokenizer, decoder or post-processor
// (the union of the fields read here).
type hfComponent struct {
	Type           string            `json:"type"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Decoders       []json.RawMessage `json:"decoders"`
	Processors     []json.RawMessage `json:"processors"`
	Pattern        *hfPattern        `json:"pattern"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Single         []hfTemplatePart  `json:"single"`
	SpecialTokens  map[string]struct {
		IDs []int64 `json:"ids"`
	} `json:"special_tokens"`
	Cls []json.RawMessage `json:"cls"`
	Sep []json.RawMessage `json:"sep"`
}

type hfPattern struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

type hfTemplatePart struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

func parseComponent(raw json.RawMessage, what string) (hfComponent, error) {
	var c hfComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s: %v: %w", what, err, errs.ErrFormat)
	}
	return c, nil
}

// parseHFPreTokenizer recognizes a byte-level pre-tokenizer: ByteLevel with
// its own regex (GPT-2's split), or a Split by a known pattern followed by
// ByteLevel without regex, possibly inside Sequences.
func parseHFPreTokenizer(raw json.RawMessage) (pre string, prefixSpace bool, err error) {
	if isJSONNull(raw) {
		return "", false, fmt.Errorf("no pre_tokenizer (only byte-level BPE is supported): %w", errs.ErrUnsupported)
	}
	var parts []hfComponent
	var flatten func(raw json.RawMessage, depth int) error
	flatten = func(raw json.RawMessage, depth int) error {
		c, err := parseComponent(raw, "pre_tokenizer")
		if err != nil {
			return err
		}
		if c.Type != "Sequence" {
			parts = append(parts, c)
			return nil
		}
		if depth > 8 {
			return fmt.Errorf("pre_tokenizer: Sequences nested too deep: %w", errs.ErrFormat)
		}
		for _, p := range c.Pretokenizers {
			if err := flatten(p, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := flatten(raw, 0); err != nil {
		return "", false, err
	}
	unsupported := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("pre_tokenizer %s: %s: %w", describeJSON(raw), why, errs.ErrUnsupported)
	}
	if len(parts) == 0 || parts[len(parts)-1].Type != "ByteLevel" {
		return unsupported("only byte-level BPE (ending in ByteLevel) is supported")
	}
	bl := parts[len(parts)-1]
	useRegex := bl.UseRegex == nil || *bl.UseRegex
	switch len(parts) {
	case 1:
		if !useRegex {
			return unsupported("ByteLevel without a split")
		}
		return PreGPT2, bl.AddPrefixSpace, nil
	case 2:
		sp := parts[0]
		if sp.Type != "Split" || sp.Pattern == nil || sp.Pattern.Regex == nil || useRegex {
			return unsupported("expected a Split followed by ByteLevel with use_regex false")
		}
		name, ok := knownPatterns[*sp.Pattern.Regex]
		if !ok {
			return unsupported(fmt.Sprintf("split pattern %q has no splitter", *sp.Pattern.Regex))
		}
		if sp.Behavior != "Isolated" || sp.Invert {
			return unsupported(fmt.Sprintf("split behavior %q, invert %v", sp.Behavior, sp.Invert))
		}
		return name, bl.AddPrefixSpace, nil
	}
	return unsupported(fmt.Sprintf("%d pre-tokenizers", len(parts)))
}

// checkHFDecoder accepts no decoder or ByteLevel (possibly in a Sequence).
func checkHFDecoder(raw json.RawMessage) error {
	if isJSONNull(raw) {
		return nil
	}
	c, err := parseComponent(raw, "decoder")
	if err != nil {
		return err
	}
	switch {
	case c.Type == "ByteLevel":
		return nil
	case c.Type == "Sequence" && len(c.Decoders) == 1:
		return checkHFDecoder(c.Decoders[0])
	}
	return fmt.Errorf("decoder %s (only ByteLevel is supported): %w", describeJSON(raw), errs.ErrUnsupported)
}

// hfPost is what a post-processor adds around a single sequence.
type hfPost struct {
	bos, eos       int32
	addBOS, addEOS bool
}

// parseHFPostProcessor reads ByteLevel (nothing added), TemplateProcessing
// (one special token before and/or after the sequence), RobertaProcessing
// and BertProcessing (cls before, sep after), and Sequences of them.
func parseHFPostProcessor(raw json.RawMessage, idx map[string]int32) (hfPost, error) {
	post := hfPost{bos: -1, eos: -1}
	if isJSONNull(raw) {
		return post, nil
	}
	var walk func(raw json.RawMessage, depth int) error
	walk = func(raw json.RawMessage, depth int) error {
		c, err := parseComponent(raw, "post_processor")
		if err != nil {
			return err
		}
		switch c.Type {
		case "ByteLevel":
			return nil
		case "Sequence":
			if depth > 8 {
				return fmt.Errorf("post_processor: Sequences nested too deep: %w", errs.ErrFormat)
			}
			for _, p := range c.Processors {
				if err := walk(p, depth+1); err != nil {
					return err
				}
			}
			return nil
		case "TemplateProcessing":
			return post.template(&c, idx)
		case "RobertaProcessing", "BertProcessing":
			var err error
			if post.bos, err = pairToken(c.Cls, idx); err != nil {
				return fmt.Errorf("post_processor cls: %w", err)
			}
			if post.eos, err = pairToken(c.Sep, idx); err != nil {
				return fmt.Errorf("post_processor sep: %w", err)
			}
			post.addBOS, post.addEOS = true, true
			return nil
		}
		return fmt.Errorf("post_processor %s: %w", describeJSON(raw), errs.ErrUnsupported)
	}
	return post, walk(raw, 0)
}

// template reads TemplateProcessing's single-sequence template.
func (p *hfPost) template(c *hfComponent, idx map[string]int32) error {
	var before, after []string
	seen := false
	for _, part := range c.Single {
		switch {
		case part.Sequence != nil:
			seen = true
		case part.SpecialToken != nil && !seen:
			before = append(before, part.SpecialToken.ID)
		case part.SpecialToken != nil:
			after = append(after, part.SpecialToken.ID)
		}
	}
	if !seen || len(before) > 1 || len(after) > 1 {
		return fmt.Errorf("post_processor TemplateProcessing: template other than [special] $A [special]: %w", errs.ErrUnsupported)
	}
	resolve := func(name string) (int32, error) {
		if st, ok := c.SpecialTokens[name]; ok && len(st.IDs) == 1 {
			return int32(st.IDs[0]), nil
		}
		if id, ok := idx[name]; ok {
			return id, nil
		}
		return -1, fmt.Errorf("post_processor: special token %q is not in the vocabulary: %w", name, errs.ErrFormat)
	}
	var err error
	if len(before) == 1 {
		if p.bos, err = resolve(before[0]); err != nil {
			return err
		}
		p.addBOS = true
	}
	if len(after) == 1 {
		if p.eos, err = resolve(after[0]); err != nil {
			return err
		}
		p.addEOS = true
	}
	return nil
}

// pairToken reads a ["piece", id] pair.
func pairToken(pair []json.RawMessage, idx map[string]int32) (int32, error) {
	var name string
	if len(pair) != 2 || json.Unmarshal(pair[0], &name) != nil {
		return -1, fmt.Errorf("not a [piece, id] pair: %w", errs.ErrFormat)
	}
	id, ok := idx[name]
	if !ok {
		return -1, fmt.Errorf("%q is not in the vocabulary: %w", name, errs.ErrFormat)
	}
	return id, nil
}
