package cli

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/kernels"
)

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", "Print the version, the Go runtime, the platform and the kernels this machine uses.", stderr)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	pool := kernels.NewPool(1)
	defer pool.Close()
	fmt.Fprintf(stdout, "bitnet %s (%s, %s/%s, %d CPUs)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(stdout, "kernels: %s\n", kernels.Best(pool).Name())
	fmt.Fprintf(stdout, "kernels available: %s\n", strings.Join(kernels.Available(), " "))
	fmt.Fprintf(stdout, "architectures: %v\n", engine.Architectures())
	return nil
}
