package tokenize

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoText is the repository's Go and Markdown sources, concatenated in
// path order: real code and prose (tests/bench_tokenizers.py measures Hugging
// Face tokenizers on the same bytes).
func repoText(b *testing.B) string {
	b.Helper()
	var paths []string
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != ".." && strings.HasPrefix(d.Name(), ".") || d.IsDir() && d.Name() == "build" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".md")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(paths)
	var sb strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		sb.Write(data)
	}
	return sb.String()
}

func benchEncode(b *testing.B, tok Tokenizer, text string) {
	b.Helper()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	n := 0
	for b.Loop() {
		ids, err := tok.Encode(text, EncodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(ids)
	}
	b.ReportMetric(float64(len(text))/float64(n), "bytes/token")
}

// BenchmarkBPEEncodeLlama3RepoText measures single-threaded encoding of
// code and English prose (MB/s is the throughput).
func BenchmarkBPEEncodeLlama3RepoText(b *testing.B) {
	benchEncode(b, loadLlama3(b), repoText(b))
}

// BenchmarkBPEEncodeLlama3MixedScripts measures the generated multilingual
// test texts (many scripts, emoji, whitespace runs).
func BenchmarkBPEEncodeLlama3MixedScripts(b *testing.B) {
	benchEncode(b, loadLlama3(b), strings.Join(corpus(2000, 5), "\n"))
}

// BenchmarkBPEEncodeLlama3LongWord measures the worst case of merging: one
// pre-token of 1 MB (a run of a single letter).
func BenchmarkBPEEncodeLlama3LongWord(b *testing.B) {
	benchEncode(b, loadLlama3(b), strings.Repeat("a", 1<<20))
}

// BenchmarkLlama3Split measures the pre-tokenizer alone.
func BenchmarkLlama3Split(b *testing.B) {
	text := repoText(b)
	b.SetBytes(int64(len(text)))
	var pieces []string
	for b.Loop() {
		pieces = splitLlama3(text, pieces[:0])
	}
}
