package quant

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// The digests below were produced by llama.cpp's gguf-py 0.19
// (gguf.quants.quantize / dequantize, numpy astype(float16) for F16) on
// referenceInput(): 1024 float32 values built by exact float32 steps, so
// numpy and Go see the same bits. The BF16 and F16 vectors append
// specialValues. The generator, for regenerating:
//
//	def lcg(n, seed, shift):
//	    s, out = seed, []
//	    for _ in range(n):
//	        s = (s * 1664525 + 1013904223) & 0xffffffff
//	        out.append(np.float32(np.int32(np.uint32(s).view(np.int32)) >> 8) / np.float32(1 << shift))
//	    return np.array(out, np.float32)
//	lattice = np.array([((i*37+11) % 201) - 100 for i in range(256)], np.float32) / np.float32(64)
//	mixed = zeros(256); mixed[32:64] = 0.75; mixed[64:96] = -3; mixed[96:] = lcg(160, 7, 20)
//	x = concat(lcg(256, 1, 20), lattice, mixed, lcg(256, 99, 30))
//
// and sha256 of the quantized bytes and of the dequantized float32 bytes.
var ggufPyDigests = []struct {
	typ         Type
	quantized   string
	dequantized string
}{
	{Q4_0, "af96ea8577a9bf97c73160cdb582fff5d40643a1e4d87571464abf561b5afcec", "6644c8037fa510449bb81573f28c62cc1bad8da2e92088507a4738ca74510506"},
	{Q4_1, "3ede33199b9f5c0aed36b1e64914ddb766df85eb9b30781f07af21aa53cbf18d", "364ed9f60f0c92c44b471cb81dd19ed9ee272ab6cd5e8bae8daa5a36a0f4cb76"},
	{Q8_0, "e2fa8b32b8c8fe5a2629925372d5356180a040faac06b2727afbe5430b0c2f97", "7272201a7d5413aed1ce25615bb3945e9a63140e535bcbc95afd1e06a3faa2de"},
	{TQ1_0, "8a237264ad9a6f1613199c9db37de9493ab14e205829668dcc3f3bb09e03218a", "8259e93577d7cb7cee1aae4e3bb313fb1ed73c6c5ed76dcc5ffa06fa4eb59381"},
	{TQ2_0, "92fdda703c4a5d78b768257bed704cea9f9125054ab5a9fb806d78e9700184d4", "8259e93577d7cb7cee1aae4e3bb313fb1ed73c6c5ed76dcc5ffa06fa4eb59381"},
	{BF16, "f574723e90b8e02f37c1e0cde52e86557365008b001dee5135757aa24783ca83", "d121de47a99ddf9cab140df37b3d6579d93452683443869521e643efdcc6db6e"},
	{F16, "7bbfe6e03af699079d6c3290933371d42fa4e85a4822c5359e910828f4436261", "028e8bbc3ce01ff5a979c3ea05ef9c6133af73f1e43344f8913dbc5bfb883c61"},
}

// specialValues exercise NaN, infinities, overflow, subnormals and ties.
func specialValues() []float32 {
	return []float32{
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, 1e-45, -1e-40, 65504, 65520,
		65519.99, 1e-8, 6e-8, 2.98e-8, 0, float32(math.Copysign(0, -1)),
		1.00390625, 1.005859375,
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCodecsMatchGGUFPyVectors(t *testing.T) {
	for _, c := range ggufPyDigests {
		x := referenceInput()
		if c.typ == BF16 || c.typ == F16 {
			x = append(x, specialValues()...)
		}
		q := quantizeBytes(t, c.typ, x)
		if got := sha(q); got != c.quantized {
			t.Errorf("%v quantized bytes: sha256 %s, want %s", c.typ, got, c.quantized)
		}
		y := dequantizeBytes(t, c.typ, q, len(x))
		raw := make([]byte, 4*len(y))
		for i, v := range y {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if got := sha(raw); got != c.dequantized {
			t.Errorf("%v dequantized values: sha256 %s, want %s", c.typ, got, c.dequantized)
		}
	}
}
