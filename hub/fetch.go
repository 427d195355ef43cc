package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// errStalled is the cancel cause of a transfer that received nothing for
// StallTimeout.
var errStalled = errors.New("transfer stalled")

// transfer is one download of a file into a partial file, across retries.
type transfer struct {
	c    *Client
	name string // "repo@revision/file" for messages and Progress
	meta fileMeta
	part *os.File
	off  int64     // bytes in part
	h    hash.Hash // SHA-256 of part's bytes; nil when none is expected
}

// fetchFile downloads meta.location into dst through dst+".incomplete",
// resuming what a previous attempt left there. The caller holds dst's lock.
// On success dst is complete and verified; on a checksum or size mismatch
// the partial file is removed and nothing is left at dst.
func (c *Client) fetchFile(ctx context.Context, name string, meta fileMeta, dst string) error {
	partName := dst + ".incomplete"
	part, err := os.OpenFile(partName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	t := &transfer{c: c, name: name, meta: meta, part: part}
	if err := t.start(); err != nil {
		part.Close()
		return err
	}
	err = c.retry(ctx, func() (bool, error) { return t.attempt(ctx) })
	if err == nil {
		err = part.Sync()
	}
	if cerr := part.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := t.verify(); err != nil {
		os.Remove(partName)
		return err
	}
	return os.Rename(partName, dst)
}

// start takes over the bytes already in the partial file, discarding them
// when they cannot belong to the file.
func (t *transfer) start() error {
	st, err := t.part.Stat()
	if err != nil {
		return err
	}
	t.off = st.Size()
	if t.meta.size >= 0 && t.off > t.meta.size {
		return t.restart()
	}
	if t.meta.sha256 != "" {
		t.h = sha256.New()
		if _, err := io.Copy(t.h, io.NewSectionReader(t.part, 0, t.off)); err != nil {
			return err
		}
	}
	_, err = t.part.Seek(t.off, io.SeekStart)
	return err
}

// restart empties the partial file.
func (t *transfer) restart() error {
	if err := t.part.Truncate(0); err != nil {
		return err
	}
	if _, err := t.part.Seek(0, io.SeekStart); err != nil {
		return err
	}
	t.off = 0
	if t.meta.sha256 != "" {
		t.h = sha256.New()
	}
	return nil
}

func (t *transfer) progress(total int64) {
	if t.c.Progress != nil {
		t.c.Progress(t.off, total, t.name)
	}
}

// attempt sends one GET (with a Range header when resuming) and appends
// the body to the partial file. progress reports whether bytes arrived.
func (t *transfer) attempt(ctx context.Context) (progress bool, err error) {
	if t.meta.size >= 0 && t.off == t.meta.size {
		t.progress(t.meta.size)
		return false, nil // complete already (a previous run stopped before the rename)
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := t.c.stallTimeout()
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()

	u := t.meta.location
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("GET %s: %w (%w)", u, err, ErrInvalidName)
	}
	t.c.setHeaders(req)
	if t.off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", t.off))
	}
	resp, err := t.c.httpClient().Do(req)
	if err != nil {
		return false, t.netError(ctx, actx, "GET "+u, err)
	}
	defer resp.Body.Close()

	switch resp.StatusCode {
	case http.StatusOK:
		if t.off > 0 { // the server ignored the Range header: start over
			if err := t.restart(); err != nil {
				return false, err
			}
		}
	case http.StatusPartialContent:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != t.off {
			if err := t.restart(); err != nil {
				return false, err
			}
			return false, retryable(ErrServer, fmt.Errorf("GET %s: Content-Range %q does not start at byte %d",
				u, resp.Header.Get("Content-Range"), t.off))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if err := t.restart(); err != nil {
			return false, err
		}
		return false, retryable(ErrServer, fmt.Errorf("GET %s: range from byte %d refused; starting over", u, t.off))
	default:
		return false, statusError(resp, "GET "+u)
	}

	total := t.meta.size
	if total < 0 && resp.ContentLength >= 0 {
		total = t.off + resp.ContentLength
	}
	t.progress(total)
	start := t.off
	buf := make([]byte, 64<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			timer.Reset(stall)
			if _, err := t.part.Write(buf[:n]); err != nil {
				return t.off > start, fmt.Errorf("write %s: %w", t.part.Name(), err)
			}
			if t.h != nil {
				t.h.Write(buf[:n])
			}
			t.off += int64(n)
			t.progress(total)
		}
		if rerr == io.EOF {
			return t.off > start, nil
		}
		if rerr != nil {
			return t.off > start, t.netError(ctx, actx, fmt.Sprintf("GET %s: after byte %d", u, t.off), rerr)
		}
	}
}

// netError turns a transport error into a retryable one, unless the caller
// canceled.
func (t *transfer) netError(ctx, actx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if errors.Is(context.Cause(actx), errStalled) {
		err = fmt.Errorf("nothing received for %v", t.c.stallTimeout())
	}
	return retryable(ErrNetwork, fmt.Errorf("%s: %w", what, err))
}

// verify checks the finished partial file against the announced size and
// SHA-256.
func (t *transfer) verify() error {
	if t.meta.size >= 0 && t.off != t.meta.size {
		return fmt.Errorf("%s: got %d bytes, the hub announced %d: %w", t.name, t.off, t.meta.size, ErrChecksum)
	}
	if t.h != nil {
		if got := hex.EncodeToString(t.h.Sum(nil)); got != t.meta.sha256 {
			return fmt.Errorf("%s: sha256 %s, the hub announced %s: %w", t.name, got, t.meta.sha256, ErrChecksum)
		}
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n >= 0
}
