package hub

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bitnet-dev/bitnet/errs"
)

// Environment variables read by NewClient and the cache folder helpers.
const (
	EnvEndpoint      = "HF_ENDPOINT"           // hub URL, default DefaultEndpoint
	EnvToken         = "HF_TOKEN"              // sent as "Authorization: Bearer ..."
	EnvHubOffline    = "HF_HUB_OFFLINE"        // 1: never touch the network
	EnvBitnetOffline = "BITNET_OFFLINE"        // 1: never touch the network
	EnvBitnetCache   = "BITNET_CACHE_DIR"      // bitnet's own cache folder
	EnvHubCache      = "HF_HUB_CACHE"          // Hugging Face hub cache folder
	EnvHubCacheOld   = "HUGGINGFACE_HUB_CACHE" // its older name
	EnvHFHome        = "HF_HOME"               // hub cache is $HF_HOME/hub
	EnvXDGCache      = "XDG_CACHE_HOME"        // HF_HOME default is $XDG_CACHE_HOME/huggingface
)

// DefaultEndpoint is the hub used when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// BitnetCacheDir returns bitnet's own cache folder: $BITNET_CACHE_DIR, else
// os.UserCacheDir()/bitnet. The folder may not exist yet.
func BitnetCacheDir() (string, error) {
	if d := os.Getenv(EnvBitnetCache); d != "" {
		return expandHome(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("bitnet cache folder: set %s: %w", EnvBitnetCache, err)
	}
	return filepath.Join(base, "bitnet"), nil
}

// HFHubCacheDir returns the Hugging Face hub cache folder as huggingface_hub
// finds it: $HF_HUB_CACHE (or the older $HUGGINGFACE_HUB_CACHE), else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. The folder may not exist yet.
func HFHubCacheDir() (string, error) {
	for _, k := range []string{EnvHubCache, EnvHubCacheOld} {
		if d := os.Getenv(k); d != "" {
			return expandHome(d)
		}
	}
	if d := os.Getenv(EnvHFHome); d != "" {
		home, err := expandHome(d)
		return filepath.Join(home, "hub"), err
	}
	if d := os.Getenv(EnvXDGCache); d != "" {
		x, err := expandHome(d)
		return filepath.Join(x, "huggingface", "hub"), err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("hugging face cache folder: set %s: %w", EnvHubCache, err)
	}
	return filepath.Join(home, ".cache", "huggingface", "hub"), nil
}

// expandHome replaces a leading "~/" with the user's home folder.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// ClearCache deletes the cache folder dir and everything in it (a missing
// folder is not an error). It refuses "", the file system root and the home
// folder, to limit the damage of a mistyped variable.
func ClearCache(dir string) error {
	if dir == "" {
		return fmt.Errorf("clear cache: empty folder name: %w", errs.ErrInvalidArgument)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("clear cache %s: %w", dir, err)
	}
	if err := refuseClear(abs); err != nil {
		return err
	}
	if err := os.RemoveAll(abs); err != nil {
		return fmt.Errorf("clear cache %s: %w", abs, err)
	}
	return nil
}

// refuseClear rejects the file system root and the home folder.
func refuseClear(abs string) error {
	home, _ := os.UserHomeDir()
	if abs == filepath.Dir(abs) || (home != "" && filepath.Clean(home) == abs) {
		return fmt.Errorf("clear cache: refusing to delete %s: %w", abs, errs.ErrInvalidArgument)
	}
	return nil
}
