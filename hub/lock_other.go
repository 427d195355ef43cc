//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package hub

import "context"

// lockFile takes the portable O_EXCL lock on path (no flock here). The lock
// file is always removed on release.
func lockFile(ctx context.Context, path string, _ lockOptions) (unlock func(), err error) {
	return lockExcl(ctx, path, exclStale)
}
