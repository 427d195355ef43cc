package hub

import (
	"errors"
	"io/fs"
)

// Error kinds of this package. Every error returned by a Client wraps one of
// them (or a context error) inside an *fs.PathError naming the operation and
// the file ("repo@revision/file"), so errs.CodeOf reports it as an I/O
// failure and errors.Is finds the kind.
var (
	// ErrNotFound: the repository, revision or file does not exist on the
	// hub (HTTP 404, or a 401 that the hub marks as RepositoryNotFound).
	ErrNotFound = errors.New("hub: not found")
	// ErrUnauthorized: the hub refused access (HTTP 401 or 403: a private or
	// gated repository, a missing or wrong HF_TOKEN).
	ErrUnauthorized = errors.New("hub: unauthorized")
	// ErrServer: the hub kept failing (HTTP 5xx or 429) after every retry,
	// or answered something this client cannot use.
	ErrServer = errors.New("hub: server error")
	// ErrNetwork: the connection kept failing (refused, reset, dropped
	// mid-file, stalled) after every retry.
	ErrNetwork = errors.New("hub: network error")
	// ErrOffline: the file is not in the cache and offline mode
	// (HF_HUB_OFFLINE=1 or BITNET_OFFLINE=1) forbids downloading it.
	ErrOffline = errors.New("hub: offline mode")
	// ErrChecksum: the downloaded bytes do not match the SHA-256 or the size
	// the hub announced. Nothing is left in the cache.
	ErrChecksum = errors.New("hub: checksum mismatch")
	// ErrInvalidName: a repository id, revision or file name is malformed or
	// would escape the cache folder.
	ErrInvalidName = errors.New("hub: invalid name")
)

// opError wraps err as an I/O error of operation op on name.
func opError(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}
