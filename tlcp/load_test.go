package tlcp

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadCertificate loads the golden dual certificate (each PEM file
// holds a certificate and its key) and a pool, and refuses bad files.
func TestLoadCertificate(t *testing.T) {
	sign, enc := filepath.Join("testdata", "golden_server_sign.pem"), filepath.Join("testdata", "golden_server_enc.pem")
	c, err := LoadCertificate(sign, sign, enc, enc)
	if err != nil {
		t.Fatal(err)
	}
	if c.SignKey == nil || c.EncKey == nil || len(c.SignCertificate) == 0 || len(c.EncCertificate) == 0 {
		t.Fatalf("loaded %+v", c)
	}
	if pool, err := LoadCertPool(filepath.Join("testdata", "golden_ca.pem")); err != nil || pool == nil {
		t.Fatalf("pool: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][4]string{
		"no certificate": {empty, sign, enc, enc},
		"no key":         {sign, empty, enc, enc},
		"missing file":   {sign, sign, enc, "/nonexistent"},
	} {
		if _, err := LoadCertificate(args[0], args[1], args[2], args[3]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
