package engine

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/bitnet-dev/bitnet/formats/hf"
	"github.com/bitnet-dev/bitnet/formats/safetensors"
	"github.com/bitnet-dev/bitnet/hub"
)

// FromPretrained loads a model from a Hugging Face hub repository ("org/name"
// at revision, "" meaning "main"), with a hub client configured from the
// environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE
// / BITNET_OFFLINE). See FromPretrainedWith.
func FromPretrained(ctx context.Context, repo, revision string, opts Options) (*Model, error) {
	return FromPretrainedWith(ctx, hub.NewClient(), repo, revision, opts)
}

// FromPretrainedWith loads a model from a hub repository through c:
// ResolvePretrained finds or downloads its files in the Hugging Face cache,
// then Load reads them.
func FromPretrainedWith(ctx context.Context, c *hub.Client, repo, revision string, opts Options) (*Model, error) {
	path, err := ResolvePretrained(ctx, c, repo, revision)
	if err != nil {
		return nil, err
	}
	return Load(path, opts)
}

// ResolvePretrained makes a repository's model available in the Hugging Face
// cache (c.HubCacheDir, the layout huggingface_hub uses, so files either
// side downloaded are reused) and returns its local path: a GGUF file when
// the repository has one (preferred), else the snapshot folder holding
// config.json, the safetensors weights (every shard of a sharded
// checkpoint) and the tokenizer files. Files already cached are not
// fetched again; the others are downloaded with resume, checksum and lock
// (see package hub), reporting progress through c.Progress. The file list
// comes from the hub API, or offline from the cached snapshot.
func ResolvePretrained(ctx context.Context, c *hub.Client, repo, revision string) (string, error) {
	if revision == "" {
		revision = hub.DefaultRevision
	}
	info, err := c.RepoFiles(ctx, repo, revision)
	if err != nil {
		return "", fmt.Errorf("from_pretrained %s@%s: %w", repo, revision, err)
	}
	sel, err := hf.Select(info.Files)
	if err != nil {
		if info.FromCache {
			// An I/O failure (the cache lacks files), not a model error.
			why, kind := "the hub could not be reached", hub.ErrNetwork
			if c.Offline {
				why, kind = "offline mode is on (HF_HUB_OFFLINE or BITNET_OFFLINE)", hub.ErrOffline
			}
			return "", &fs.PathError{Op: "from_pretrained", Path: repo + "@" + revision, Err: fmt.Errorf(
				"the Hugging Face cache %s holds only part of the model (%v) and %s: %w", c.HubCacheDir, err, why, kind)}
		}
		return "", fmt.Errorf("from_pretrained %s@%s: %w", repo, revision, err)
	}
	fetch := func(name string) (string, error) {
		p, err := c.HubFile(ctx, repo, info.Commit, name)
		if err != nil {
			return "", fmt.Errorf("from_pretrained %s@%s: %w", repo, revision, err)
		}
		return p, nil
	}
	if sel.GGUF != "" {
		return fetch(sel.GGUF)
	}
	for _, f := range sel.Files {
		p, err := fetch(f)
		if err != nil {
			return "", err
		}
		if f != sel.Index {
			continue
		}
		ix, err := safetensors.ReadIndex(p)
		if err != nil {
			return "", fmt.Errorf("from_pretrained %s@%s: %w", repo, revision, err)
		}
		for _, shard := range ix.Shards() {
			if _, err := fetch(shard); err != nil {
				return "", err
			}
		}
	}
	dir, err := c.SnapshotDir(repo, info.Commit)
	if err != nil {
		return "", fmt.Errorf("from_pretrained %s@%s: %w", repo, revision, err)
	}
	return dir, nil
}
