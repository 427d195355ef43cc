package sampling

import (
	"fmt"
	"math"

	"github.com/bitnet-dev/bitnet/errs"
)

// Config holds sampling parameters. Temperature 0 means greedy (argmax).
//
// The zero Config is not valid (its RepetitionPenalty is 0); start from
// DefaultConfig and change the fields you need.
type Config struct {
	// Temperature divides the logits before the softmax. 0 selects greedy
	// decoding (argmax of the penalized logits); it must be >= 0 and finite.
	Temperature float32
	// TopK keeps only the TopK highest logits. 0 disables the filter.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose cumulative
	// probability reaches TopP (nucleus sampling). 1 or 0 disables the
	// filter; it must be in [0, 1].
	TopP float32
	// MinP drops tokens whose probability is below MinP times the
	// probability of the most likely token. 0 disables the filter; it must
	// be in [0, 1].
	MinP float32
	// RepetitionPenalty penalizes tokens that occur in the recent history
	// (see ApplyRepetitionPenalty). 1 disables it; it must be > 0 and finite.
	RepetitionPenalty float32
	// RepeatLastN is how many of the most recent history tokens the
	// repetition penalty looks at; 0 means all tokens given. Must be >= 0.
	RepeatLastN int
	// Seed seeds the sampler's random number generator.
	Seed uint64
}

// DefaultConfig returns the seed API's defaults: temperature 0.7, top-k 50,
// top-p 0.9, no min-p, repetition penalty 1.0 (off) over the last 64
// tokens, seed 0.
func DefaultConfig() Config {
	return Config{
		Temperature:       0.7,
		TopK:              50,
		TopP:              0.9,
		MinP:              0,
		RepetitionPenalty: 1,
		RepeatLastN:       64,
		Seed:              0,
	}
}

// Validate reports the first invalid field of c as an error wrapping
// errs.ErrInvalidArgument that names the field.
func (c Config) Validate() error {
	switch {
	case !finite(c.Temperature) || c.Temperature < 0:
		return invalidField("Temperature", c.Temperature, "must be finite and >= 0")
	case c.TopK < 0:
		return invalidField("TopK", c.TopK, "must be >= 0")
	case !(c.TopP >= 0 && c.TopP <= 1): // also rejects NaN
		return invalidField("TopP", c.TopP, "must be in [0, 1]")
	case !(c.MinP >= 0 && c.MinP <= 1):
		return invalidField("MinP", c.MinP, "must be in [0, 1]")
	case !finite(c.RepetitionPenalty) || c.RepetitionPenalty <= 0:
		return invalidField("RepetitionPenalty", c.RepetitionPenalty, "must be finite and > 0")
	case c.RepeatLastN < 0:
		return invalidField("RepeatLastN", c.RepeatLastN, "must be >= 0")
	}
	return nil
}

// topPActive reports whether the nucleus filter changes anything.
func (c Config) topPActive() bool { return c.TopP > 0 && c.TopP < 1 }

func invalidField(field string, value any, rule string) error {
	return fmt.Errorf("sampling config: %s = %v %s: %w", field, value, rule, errs.ErrInvalidArgument)
}

func finite(x float32) bool {
	return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
}
