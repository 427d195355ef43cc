package sampling

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/bitnet-dev/bitnet/errs"
)

func TestDefaultConfigMatchesSeedAPIAndIsValid(t *testing.T) {
	c := DefaultConfig()
	want := Config{Temperature: 0.7, TopK: 50, TopP: 0.9, RepetitionPenalty: 1, RepeatLastN: 64}
	if c != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestValidateRejectsBadFieldsNamingThem(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		field string
		edit  func(*Config)
	}{
		{"Temperature", func(c *Config) { c.Temperature = -0.1 }},
		{"Temperature", func(c *Config) { c.Temperature = nan }},
		{"Temperature", func(c *Config) { c.Temperature = inf }},
		{"TopK", func(c *Config) { c.TopK = -1 }},
		{"TopP", func(c *Config) { c.TopP = 1.01 }},
		{"TopP", func(c *Config) { c.TopP = -0.5 }},
		{"TopP", func(c *Config) { c.TopP = nan }},
		{"MinP", func(c *Config) { c.MinP = 1.5 }},
		{"MinP", func(c *Config) { c.MinP = nan }},
		{"RepetitionPenalty", func(c *Config) { c.RepetitionPenalty = 0 }},
		{"RepetitionPenalty", func(c *Config) { c.RepetitionPenalty = -1 }},
		{"RepetitionPenalty", func(c *Config) { c.RepetitionPenalty = nan }},
		{"RepetitionPenalty", func(c *Config) { c.RepetitionPenalty = inf }},
		{"RepeatLastN", func(c *Config) { c.RepeatLastN = -1 }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("%+v: Validate() = %v, want ErrInvalidArgument", c, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("Validate() = %q, want it to name %s", err, tc.field)
		}
		if _, err := New(c); !errors.Is(err, errs.ErrInvalidArgument) {
			t.Errorf("New(%+v) = %v, want ErrInvalidArgument", c, err)
		}
	}
}

func TestValidateAcceptsBoundaryValues(t *testing.T) {
	for _, c := range []Config{
		{Temperature: 0, TopP: 0, MinP: 0, RepetitionPenalty: 1},
		{Temperature: 2, TopK: 1, TopP: 1, MinP: 1, RepetitionPenalty: 0.5, RepeatLastN: 1},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: Validate() = %v, want nil", c, err)
		}
	}
}
