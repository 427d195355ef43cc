package tokenize

import (
	"encoding/json"
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// hfConfig is the part of tokenizer_config.json that matters here.
type hfConfig struct {
	BOSToken     hfTokenName     `json:"bos_token"`
	EOSToken     hfTokenName     `json:"eos_token"`
	PadToken     hfTokenName     `json:"pad_token"`
	UnkToken     hfTokenName     `json:"unk_token"`
	AddBOS       *bool           `json:"add_bos_token"`
	AddEOS       *bool           `json:"add_eos_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// hfTokenName is a token given as a string, as {"content": "..."}, or null.
type hfTokenName struct {
	name string
	set  bool
}

// UnmarshalJSON reads the three forms.
func (t *hfTokenName) UnmarshalJSON(b []byte) error {
	if isJSONNull(b) {
		*t = hfTokenName{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = hfTokenName{name: s, set: true}
		return nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil || obj.Content == nil {
		return fmt.Errorf("a special token is neither a string nor an object with content")
	}
	*t = hfTokenName{name: *obj.Content, set: true}
	return nil
}

// chatTemplate returns the template: the string, or the one named
// "default" (else the first) of a list of {name, template}.
func (c *hfConfig) chatTemplate() (string, error) {
	if isJSONNull(c.ChatTemplate) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(c.ChatTemplate, &s); err == nil {
		return s, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(c.ChatTemplate, &list); err != nil {
		return "", fmt.Errorf("tokenizer_config.json: chat_template is neither a string nor a list of named templates: %w", errs.ErrFormat)
	}
	for _, t := range list {
		if t.Name == "default" {
			return t.Template, nil
		}
	}
	if len(list) > 0 {
		return list[0].Template, nil
	}
	return "", nil
}

// apply settles the special ids and flags of v from the config, the
// post-processor and, failing both, the pieces' names.
func (c *hfConfig) apply(v *BPEVocab, post hfPost, idx map[string]int32) error {
	typeOf := func(i int) int32 { return v.Types[i] }
	lookup := func(t hfTokenName, what string) (int32, error) {
		id, ok := idx[t.name]
		if !ok {
			return -1, fmt.Errorf("tokenizer_config.json: %s %q is not in the vocabulary: %w", what, t.name, errs.ErrFormat)
		}
		return id, nil
	}
	var err error
	switch {
	case c.BOSToken.set:
		if v.BOS, err = lookup(c.BOSToken, "bos_token"); err != nil {
			return err
		}
	case post.bos >= 0:
		v.BOS = post.bos
	default:
		v.BOS = detectSpecial(idx, typeOf, bosNames)
	}
	switch {
	case c.EOSToken.set:
		if v.EOS, err = lookup(c.EOSToken, "eos_token"); err != nil {
			return err
		}
	case post.eos >= 0:
		v.EOS = post.eos
	default:
		v.EOS = detectSpecial(idx, typeOf, eosNames)
	}
	if c.PadToken.set {
		if v.PAD, err = lookup(c.PadToken, "pad_token"); err != nil {
			return err
		}
	}
	if c.UnkToken.set && v.UNK < 0 {
		if v.UNK, err = lookup(c.UnkToken, "unk_token"); err != nil {
			return err
		}
	}
	v.AddBOS, v.AddEOS = post.addBOS, post.addEOS
	if c.AddBOS != nil {
		v.AddBOS = *c.AddBOS
	}
	if c.AddEOS != nil {
		v.AddEOS = *c.AddEOS
	}
	return nil
}
