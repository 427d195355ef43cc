package hf

import (
	"regexp"
	"strconv"
)

// kind is the role of a checkpoint tensor.
type kind int

const (
	kindIgnore kind = iota
	kindEmbedding
	kindOutput
	kindVector
	kindLinear
	kindScale // the weight_scale of a linear layer
)

// mapped is a checkpoint tensor's role and GGUF name.
type mapped struct {
	kind  kind
	gguf  string // GGUF tensor name (of the weight, for kindScale)
	layer int    // -1 outside the blocks
	base  string // GGUF name without ".weight" (linear layers)
	rope  bool   // q or k projection
	proj  string // "q", "k", "v", "o", "gate", "up", "down"
}

var layerName = regexp.MustCompile(`^model\.layers\.(\d{1,5})\.(.+)$`)

// blockVectors maps a block's norm names (2B-4T's and 1bitLLM's) to GGUF.
var blockVectors = map[string]string{
	"input_layernorm.weight":          "attn_norm",
	"post_attention_layernorm.weight": "ffn_norm",
	"self_attn.attn_sub_norm.weight":  "attn_sub_norm",
	"self_attn.inner_attn_ln.weight":  "attn_sub_norm",
	"mlp.ffn_sub_norm.weight":         "ffn_sub_norm",
	"mlp.ffn_layernorm.weight":        "ffn_sub_norm",
}

// blockLinears maps a block's projections to GGUF and their short name.
var blockLinears = map[string][2]string{
	"self_attn.q_proj": {"attn_q", "q"},
	"self_attn.k_proj": {"attn_k", "k"},
	"self_attn.v_proj": {"attn_v", "v"},
	"self_attn.o_proj": {"attn_output", "o"},
	"mlp.gate_proj":    {"ffn_gate", "gate"},
	"mlp.up_proj":      {"ffn_up", "up"},
	"mlp.down_proj":    {"ffn_down", "down"},
}

// mapName tells the role of a checkpoint tensor; ok is false for a tensor
// this package does not know.
func mapName(name string) (m mapped, ok bool) {
	switch name {
	case "model.embed_tokens.weight":
		return mapped{kind: kindEmbedding, gguf: "token_embd.weight", layer: -1}, true
	case "model.norm.weight":
		return mapped{kind: kindVector, gguf: "output_norm.weight", layer: -1}, true
	case "lm_head.weight":
		return mapped{kind: kindOutput, gguf: "output.weight", layer: -1}, true
	}
	sub := layerName.FindStringSubmatch(name)
	if sub == nil {
		return mapped{}, false
	}
	layer, _ := strconv.Atoi(sub[1])
	prefix := "blk." + sub[1] + "."
	rest := sub[2]
	if rest == "self_attn.rotary_emb.inv_freq" {
		return mapped{kind: kindIgnore, layer: layer}, true
	}
	if v, ok := blockVectors[rest]; ok {
		return mapped{kind: kindVector, gguf: prefix + v + ".weight", layer: layer}, true
	}
	for hfName, g := range blockLinears {
		base := prefix + g[0]
		m := mapped{layer: layer, gguf: base + ".weight", base: base, rope: g[1] == "q" || g[1] == "k", proj: g[1]}
		switch rest {
		case hfName + ".weight":
			m.kind = kindLinear
			return m, true
		case hfName + ".weight_scale":
			m.kind = kindScale
			return m, true
		}
	}
	return mapped{}, false
}
