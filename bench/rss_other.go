//go:build !linux

package bench

import (
	"fmt"

	"github.com/bitnet-dev/bitnet/errs"
)

// CurrentRSS is the resident set size of this process in bytes (0: not
// known on this system).
func CurrentRSS() uint64 { return 0 }

// MaxRSS is the peak resident set size of the process (0: not known on
// this system).
func MaxRSS() uint64 { return 0 }

// PeakRSS is the peak resident set size since ResetPeakRSS (0: not known
// on this system).
func PeakRSS() uint64 { return 0 }

// ResetPeakRSS is not supported on this system.
func ResetPeakRSS() bool { return false }

// DropPageCache is not supported on this system.
func DropPageCache() error {
	return fmt.Errorf("dropping the page cache is only implemented on Linux: %w", errs.ErrUnsupported)
}
