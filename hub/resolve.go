package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fileMeta is what a HEAD request on a resolve URL tells about a file.
type fileMeta struct {
	commit   string // X-Repo-Commit: the commit the revision resolved to
	etag     string // X-Linked-Etag (LFS: the SHA-256) or ETag, unquoted
	sha256   string // etag when it is a SHA-256 (64 hex digits), else ""
	size     int64  // X-Linked-Size or Content-Length; -1 when unknown
	location string // the URL to GET: the resolve URL or its LFS redirect
}

// retryableError marks a failure worth retrying; kind is ErrServer or
// ErrNetwork.
type retryableError struct {
	kind error
	err  error
}

func (e *retryableError) Error() string   { return e.err.Error() }
func (e *retryableError) Unwrap() []error { return []error{e.kind, e.err} }

func retryable(kind, err error) error { return &retryableError{kind: kind, err: err} }

// retry runs try until it succeeds, fails with an error that is not
// retryable, or the retries run out. An attempt reporting progress (bytes
// received) does not count against the retries.
func (c *Client) retry(ctx context.Context, try func() (progress bool, err error)) error {
	failures := 0
	for tries := 1; ; tries++ {
		progress, err := try()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var re *retryableError
		if !errors.As(err, &re) {
			return err
		}
		if progress {
			failures = 0
		}
		if failures >= c.retries() {
			return fmt.Errorf("%v (gave up after %d tries): %w", re.err, tries, re.kind)
		}
		t := time.NewTimer(c.retryDelay(failures))
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		failures++
	}
}

// head resolves r on the hub: commit, etag, size and download URL. On an
// error the returned meta still holds what the server said (the commit of
// a 404, for instance).
func (c *Client) head(ctx context.Context, r ref) (fileMeta, error) {
	u := resolveURL(c.endpoint(), r)
	var meta fileMeta
	err := c.retry(ctx, func() (bool, error) {
		var err error
		meta, err = c.headOnce(ctx, u)
		return false, err
	})
	return meta, err
}

// headOnce sends HEAD requests, following relative redirects (a renamed
// repository) and stopping at an absolute one (LFS storage), whose
// response carries the file's metadata.
func (c *Client) headOnce(ctx context.Context, u string) (fileMeta, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	actx, cancel := context.WithTimeout(ctx, c.stallTimeout())
	defer cancel()
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(actx, http.MethodHead, u, nil)
		if err != nil {
			return fileMeta{size: -1}, fmt.Errorf("HEAD %s: %w (%w)", u, err, ErrInvalidName)
		}
		c.setHeaders(req)
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fileMeta{size: -1}, context.Cause(ctx)
			}
			return fileMeta{size: -1}, retryable(ErrNetwork, fmt.Errorf("HEAD %s: %w", u, err))
		}
		resp.Body.Close()
		meta := metaFrom(resp.Header)
		code := resp.StatusCode
		switch {
		case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
			loc, err := resp.Location()
			if err != nil {
				return meta, fmt.Errorf("HEAD %s: bad redirect: %v: %w", u, err, ErrServer)
			}
			if relativeURL(resp.Header.Get("Location")) {
				if hops >= 10 {
					return meta, fmt.Errorf("HEAD %s: too many redirects: %w", u, ErrServer)
				}
				u = loc.String()
				continue
			}
			meta.location = loc.String()
			return meta, nil
		case code >= 200 && code < 300:
			meta.location = u
			if meta.size < 0 {
				meta.size = resp.ContentLength
			}
			return meta, nil
		default:
			return meta, statusError(resp, "HEAD "+u)
		}
	}
}

// relativeURL reports whether a Location header names a path on the same
// server.
func relativeURL(loc string) bool {
	u, err := url.Parse(loc)
	return err == nil && !u.IsAbs() && u.Host == ""
}

func metaFrom(h http.Header) fileMeta {
	m := fileMeta{commit: strings.TrimSpace(h.Get("X-Repo-Commit")), size: -1}
	etag := h.Get("X-Linked-Etag")
	if etag == "" {
		etag = h.Get("ETag")
	}
	m.etag = normalizeEtag(etag)
	if len(m.etag) == 64 && isHex(m.etag) {
		m.sha256 = strings.ToLower(m.etag)
	}
	if s := h.Get("X-Linked-Size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			m.size = n
		}
	}
	return m
}

// normalizeEtag drops a weak-validator prefix and the quotes.
func normalizeEtag(e string) string {
	e = strings.TrimSpace(e)
	e = strings.TrimPrefix(e, "W/")
	return strings.Trim(e, `"`)
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// statusError classifies a failed response. Server errors and rate limits
// are retryable; 404 and the hub's "not found" codes give ErrNotFound; 401
// and 403 give ErrUnauthorized.
func statusError(resp *http.Response, what string) error {
	code := resp.StatusCode
	msg := fmt.Sprintf("%s: HTTP %s", what, resp.Status)
	if m := resp.Header.Get("X-Error-Message"); m != "" {
		if len(m) > 200 {
			m = m[:200] + "..."
		}
		msg += " (" + m + ")"
	}
	hubCode := resp.Header.Get("X-Error-Code")
	switch {
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w", msg, ErrNotFound)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if strings.HasSuffix(hubCode, "NotFound") {
			return fmt.Errorf("%s: not found, or private (set %s): %w (%w)", msg, EnvToken, ErrNotFound, ErrUnauthorized)
		}
		return fmt.Errorf("%s: access denied (a gated or private repository needs %s): %w", msg, EnvToken, ErrUnauthorized)
	case code == http.StatusTooManyRequests || code >= 500:
		return retryable(ErrServer, errors.New(msg))
	}
	return fmt.Errorf("%s: unexpected status: %w", msg, ErrServer)
}
