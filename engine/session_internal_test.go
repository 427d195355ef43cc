package engine

import "testing"

func TestKVCacheBytesDetectsOverflowAndLimit(t *testing.T) {
	if n, ok := kvCacheBytes(30, 4096, 640); !ok || n != 30*4096*640*8 {
		t.Fatalf("2B-4T cache: %d, %v", n, ok)
	}
	if _, ok := kvCacheBytes(1024, 1<<22, 1<<16); ok {
		t.Fatal("a cache of 2^51 bytes passed the limit")
	}
	if _, ok := kvCacheBytes(1<<30, 1<<30, 1<<30); ok {
		t.Fatal("an overflowing size passed")
	}
}
