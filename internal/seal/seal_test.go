package seal

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

func generate(t *testing.T, n, k int) ([]byte, []string, Config) {
	t.Helper()
	root, shares, cfg, err := Generate(rand.Reader, n, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != 16 || len(shares) != n || len(cfg.Commitments) != k {
		t.Fatalf("Generate(%d,%d): root %d bytes, %d shares, %d commitments", n, k, len(root), len(shares), len(cfg.Commitments))
	}
	return root, shares, cfg
}

// unsealWith feeds shares in order and returns the root key produced by the
// last one.
func unsealWith(t *testing.T, cfg Config, shares ...string) []byte {
	t.Helper()
	u, err := NewUnsealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var root []byte
	for i, s := range shares {
		root, err = u.Add(s)
		if err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		if i < len(shares)-1 && root != nil {
			t.Fatalf("root key returned after %d of %d shares", i+1, len(shares))
		}
	}
	return root
}

func TestAnyThresholdSubsetRecoversRootKey(t *testing.T) {
	root, shares, cfg := generate(t, 5, 3)
	for _, subset := range [][]int{{0, 1, 2}, {4, 2, 0}, {1, 3, 4}, {3, 4, 0}} {
		var picked []string
		for _, i := range subset {
			picked = append(picked, shares[i])
		}
		if got := unsealWith(t, cfg, picked...); !bytes.Equal(got, root) {
			t.Fatalf("subset %v reconstructed a different root key", subset)
		}
	}
}

func TestSingleShare(t *testing.T) {
	root, shares, cfg := generate(t, 1, 1)
	if got := unsealWith(t, cfg, shares[0]); !bytes.Equal(got, root) {
		t.Fatal("1-of-1 share did not reconstruct the root key")
	}
}

func TestGenerateRejectsBadParameters(t *testing.T) {
	for _, tc := range []struct{ n, t int }{{0, 0}, {3, 0}, {3, 4}, {256, 2}, {-1, 1}} {
		if _, _, _, err := Generate(rand.Reader, tc.n, tc.t); !fault.Is(err, fault.InvalidArgument) {
			t.Errorf("Generate(%d,%d) = %v, want invalid_argument", tc.n, tc.t, err)
		}
	}
}

func TestRejectedShares(t *testing.T) {
	_, shares, cfg := generate(t, 5, 3)
	_, otherShares, _ := generate(t, 5, 3)
	// A share with this cluster's id but another sharing's value: the
	// checksum is valid, so only the Feldman check can catch it.
	forged, err := decodeShare(otherShares[2])
	if err != nil {
		t.Fatal(err)
	}
	forged.cluster = cfg.ClusterID
	wrongValue := encodeShare(forged)
	outOfRange, _ := decodeShare(shares[0])
	outOfRange.id = 9
	tooHigh := encodeShare(outOfRange)
	typo := []byte(shares[1])
	typo[len(typo)-5] ^= 0x01

	u, err := NewUnsealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Add(shares[0]); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		share string
		code  fault.Code
	}{
		{"empty", "", fault.InvalidShare},
		{"no prefix", "abc", fault.InvalidShare},
		{"bad base64", sharePrefix + "!!!", fault.InvalidShare},
		{"typo", string(typo), fault.InvalidShare},
		{"other cluster", otherShares[1], fault.ForeignShare},
		{"forged value", wrongValue, fault.WrongShare},
		{"number above shares", tooHigh, fault.WrongShare},
		{"duplicate", shares[0], fault.DuplicateShare},
	} {
		if _, err := u.Add(tc.share); !fault.Is(err, tc.code) {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
		}
		if u.Progress() != 1 {
			t.Fatalf("%s: progress changed to %d", tc.name, u.Progress())
		}
	}
}

func TestResetForgetsShares(t *testing.T) {
	root, shares, cfg := generate(t, 3, 2)
	u, _ := NewUnsealer(cfg)
	if _, err := u.Add(shares[0]); err != nil {
		t.Fatal(err)
	}
	u.Reset()
	if u.Progress() != 0 {
		t.Fatal("progress survives Reset")
	}
	if got, err := u.Add(shares[1]); err != nil || got != nil {
		t.Fatalf("after reset one share gave %x, %v", got, err)
	}
	if got, err := u.Add(shares[2]); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("second share after reset: %v", err)
	}
}

func TestNewUnsealerRejectsInconsistentConfig(t *testing.T) {
	_, _, cfg := generate(t, 3, 2)
	bad := cfg
	bad.Threshold = 3
	if _, err := NewUnsealer(bad); err == nil {
		t.Fatal("threshold/commitment mismatch accepted")
	}
	bad = cfg
	bad.Commitments = [][]byte{{1, 2, 3}, cfg.Commitments[1]}
	if _, err := NewUnsealer(bad); err == nil {
		t.Fatal("corrupt commitment accepted")
	}
}

func TestKEKWrap(t *testing.T) {
	root, _, cfg := generate(t, 1, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "kek")
	if err := os.WriteFile(path, []byte("00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kek, err := ReadKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WrapRootKey(rand.Reader, &cfg, kek, root); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfg.WrappedRootKey, root) {
		t.Fatal("wrapped root key contains the root key")
	}
	got, err := UnwrapRootKey(cfg, kek)
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("unwrap: %v", err)
	}
	other := bytes.Clone(kek)
	other[0] ^= 1
	if _, err := UnwrapRootKey(cfg, other); err == nil {
		t.Fatal("wrong KEK unwrapped the root key")
	}
	moved := cfg
	moved.ClusterID = []byte("12345678")
	if _, err := UnwrapRootKey(moved, kek); err == nil {
		t.Fatal("wrapped key unwrapped for another cluster")
	}
	for _, content := range []string{"", "zz", "0011"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadKEKFile(path); err == nil {
			t.Errorf("KEK file %q accepted", content)
		}
	}
	if _, err := UnwrapRootKey(Config{ClusterID: cfg.ClusterID}, kek); err == nil {
		t.Fatal("unwrap without a wrapped key succeeded")
	}
}

func FuzzDecodeShare(f *testing.F) {
	_, shares, _, _ := Generate(rand.Reader, 2, 2)
	f.Add(shares[0])
	f.Add(sharePrefix)
	f.Add(sharePrefix + "AAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := decodeShare(s)
		if err != nil {
			if !fault.Is(err, fault.InvalidShare) {
				t.Fatalf("decode error without invalid_share code: %v", err)
			}
			return
		}
		again, err := decodeShare(encodeShare(sh))
		if err != nil || !bytes.Equal(again.cluster, sh.cluster) || again.id != sh.id || !bytes.Equal(again.value, sh.value) {
			t.Fatalf("share %q does not survive re-encoding: %v", s, err)
		}
	})
}
