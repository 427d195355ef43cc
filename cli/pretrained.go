package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/bitnet-dev/bitnet/engine"
	"github.com/bitnet-dev/bitnet/hub"
)

// HFScheme prefixes a Hugging Face hub repository where a model path is
// expected: hf://org/name, or hf://org/name@revision.
const HFScheme = "hf://"

// parseHFModel splits "hf://org/name[@revision]"; ok is false for other
// paths.
func parseHFModel(s string) (repo, revision string, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, HFScheme)
	if !ok {
		return "", "", false, nil
	}
	repo, revision, _ = strings.Cut(rest, "@")
	if repo == "" {
		return "", "", true, usageErr("%q names no repository (hf://org/name[@revision])", s)
	}
	return repo, revision, true, nil
}

// hubClient is a hub client configured from the environment that draws
// download progress on w (nil: none).
func hubClient(w io.Writer) *hub.Client {
	c := hub.NewClient()
	if w != nil {
		c.Progress = newProgressBar(w, isTerminal(w)).update
	}
	return c
}

// resolvePretrained downloads (or finds in the Hugging Face cache) the
// model of an hf:// path and returns its local path: a GGUF file or a
// snapshot folder. Ctrl-C cancels the download.
func resolvePretrained(repo, revision string, progress io.Writer) (string, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return engine.ResolvePretrained(ctx, hubClient(progress), repo, revision)
}

// progressBar draws download progress: on a terminal one line per file,
// redrawn at most ten times a second; elsewhere a line when a file starts
// and one when it is complete.
type progressBar struct {
	w        io.Writer
	terminal bool

	mu      sync.Mutex
	file    string
	started time.Time
	drawn   time.Time
	base    int64 // bytes present when the file started (resumed)
}

func newProgressBar(w io.Writer, terminal bool) *progressBar {
	return &progressBar{w: w, terminal: terminal}
}

// shortName turns "org/name@commit/file" into "org/name/file".
func shortName(file string) string {
	at := strings.Index(file, "@")
	if at < 0 {
		return file
	}
	slash := strings.Index(file[at:], "/")
	if slash < 0 {
		return file
	}
	return file[:at] + file[at+slash:]
}

func (p *progressBar) update(done, total int64, file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if file != p.file {
		if p.file != "" && p.terminal {
			fmt.Fprintln(p.w)
		}
		p.file, p.started, p.base, p.drawn = file, now, done, time.Time{}
		if !p.terminal {
			fmt.Fprintf(p.w, "downloading %s (%s)\n", shortName(file), sizeText(total))
		}
	}
	complete := total >= 0 && done >= total
	if !p.terminal {
		if complete {
			fmt.Fprintf(p.w, "downloaded %s\n", shortName(file))
			p.file = ""
		}
		return
	}
	if !complete && now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = now
	line := fmt.Sprintf("\r%s  %s", shortName(file), sizeText(done))
	if total > 0 {
		const width = 24
		filled := int(done * width / total)
		line += fmt.Sprintf(" / %s [%s%s] %3d%%", sizeText(total), strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done*100/total)
	}
	if el := now.Sub(p.started).Seconds(); el > 0.2 {
		line += fmt.Sprintf("  %s/s", sizeText(int64(float64(done-p.base)/el)))
	}
	fmt.Fprint(p.w, line+"\x1b[K")
	if complete {
		fmt.Fprintln(p.w)
		p.file = ""
	}
}

// sizeText formats a byte count ("?" when unknown).
func sizeText(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}
