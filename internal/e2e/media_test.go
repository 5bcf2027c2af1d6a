package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/dcas/dcasterm"
)

// TestMediaThroughCLI: mima media encrypt and decrypt on a real H.264
// clip from ffmpeg, against the real binary; the round trip is exact.
func TestMediaThroughCLI(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("MIMA_REQUIRE_FFMPEG") == "1" {
			t.Fatal("ffmpeg is needed (apt-get install ffmpeg)")
		}
		t.Skip("no ffmpeg")
	}
	srv, root := devServer(t)
	dir := t.TempDir()
	in, enc, back := filepath.Join(dir, "cam.h264"), filepath.Join(dir, "cam.enc.h264"), filepath.Join(dir, "back.h264")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-frames:v", "30",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-f", "h264", in).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	must(t, srv, root, "", "key", "create", "cam", "--type", "sm4")
	must(t, srv, root, "", "media", "encrypt", "--key", "cam", "--in", in, "--out", enc, "--integrity")
	must(t, srv, root, "", "media", "decrypt", "--in", enc, "--out", back)
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(back)
	e, _ := os.ReadFile(enc)
	if len(a) == 0 || !bytes.Equal(a, b) || bytes.Equal(a, e) || bytes.Count(e, []byte("mima-media-crypt")) != 2*3 {
		t.Fatalf("media round trip: %d bytes in, %d encrypted, %d back", len(a), len(e), len(b))
	}
}

// TestDCASThroughCLI: chips from a CSV injected through mima dcas inject
// (read back with the station's key), their EMMs from mima dcas emm, an
// ECM from mima dcas ecm; each terminal recovers the control word.
func TestDCASThroughCLI(t *testing.T) {
	srv, root := devServer(t)
	dir := t.TempDir()
	const n = 2500
	var csv strings.Builder
	csv.WriteString("chip_id,serial\n")
	for i := range n {
		fmt.Fprintf(&csv, "%016X,SN%d\n", 0xC0000000+i, i)
	}
	station, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := smx509.MarshalPKIXPublicKey(&station.PublicKey)
	chips, pub := filepath.Join(dir, "chips.csv"), filepath.Join(dir, "station.pem")
	inject, emms := filepath.Join(dir, "inject.bin"), filepath.Join(dir, "emms.txt")
	if err := os.WriteFile(chips, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "key", "create", "vendor", "--type", "sm4", "--derived")
	must(t, srv, root, "", "dcas", "inject", "--key", "vendor", "--chips", chips, "--station", pub, "--out", inject)
	must(t, srv, root, "", "dcas", "emm", "--key", "vendor", "--chips", chips, "--period", "3", "--out", emms)
	var ecm struct {
		ECM []byte `json:"ecm"`
		CW  []byte `json:"cw"`
	}
	if err := json.Unmarshal([]byte(must(t, srv, root, "", "dcas", "ecm", "--key", "vendor", "--channel", "CCTV-5", "--period", "3", "--format", "json")), &ecm); err != nil {
		t.Fatal(err)
	}
	terms := map[string]*dcasterm.Terminal{}
	f, err := os.Open(inject)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dcas.ReadBlocks(f, func(block []byte) error {
		o, err := dcas.OpenBlock(station, block)
		for _, k := range o.Chips {
			if terms[strings.ToUpper(hex.EncodeToString(k.ID))], err = dcasterm.New(k.ID, k.Key); err != nil {
				return err
			}
		}
		return err
	}); err != nil || len(terms) != n {
		t.Fatalf("%d chips injected, %v", len(terms), err)
	}
	lines, err := os.ReadFile(emms)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for sc := bufio.NewScanner(bytes.NewReader(lines)); sc.Scan(); got++ {
		id, b64, _ := strings.Cut(sc.Text(), ",")
		emm, err := base64.StdEncoding.DecodeString(b64)
		term := terms[id]
		if err != nil || term == nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if err := term.ProcessEMM(emm); err != nil {
			t.Fatal(err)
		}
		if cw, _, err := term.ControlWord(ecm.ECM); err != nil || !bytes.Equal(cw, ecm.CW) {
			t.Fatalf("chip %s: cw %x, want %x, %v", id, cw, ecm.CW, err)
		}
	}
	if got != n {
		t.Fatalf("%d EMMs, want %d", got, n)
	}
}

// TestSoftwareImageThroughCLI: a terminal software image made by mima
// dcas sign-image with a code-signing certificate from a mima CA passes
// mima dcas verify-image and opens in the loader of a chip injected by
// mima dcas inject; the image with one byte changed fails both.
func TestSoftwareImageThroughCLI(t *testing.T) {
	srv, root := devServer(t)
	dir := t.TempDir()
	station, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := smx509.MarshalPKIXPublicKey(&station.PublicKey)
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	chips, pub := file("chips.csv", []byte("00C0FFEE\n")), file("station.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	software := file("app.bin", bytes.Repeat([]byte("set-top box client 3.2\n"), 4000))
	profile := file("code.json", []byte(`{"usage":"signing","key_usage":["digitalSignature"],"ext_key_usage":["codeSigning"],"max_ttl":"8760h","default_ttl":"720h","allowed_common_names":["STB software"]}`))
	inject, signer, ca, img := filepath.Join(dir, "inject.bin"), filepath.Join(dir, "signer.pem"), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "app.img")

	must(t, srv, root, "", "key", "create", "vendor", "--type", "sm4", "--derived")
	must(t, srv, root, "", "key", "create", "swsign", "--type", "sm2")
	must(t, srv, root, "", "ca", "create-root", "oem", "--cn", "Set-top Box Software CA")
	must(t, srv, root, "", "ca", "profile", "write", "oem", "code", "--file", profile)
	must(t, srv, root, "", "ca", "issue", "oem", "--key", "swsign", "--cn", "STB software", "--profile", "code", "--out", signer)
	if err := os.WriteFile(ca, []byte(must(t, srv, root, "", "ca", "chain", "oem")), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "dcas", "inject", "--key", "vendor", "--chips", chips, "--station", pub, "--out", inject)
	must(t, srv, root, "", "dcas", "sign-image", "--key", "vendor", "--signer", "swsign", "--cert", signer, "--in", software, "--out", img)
	if out := must(t, srv, root, "", "dcas", "verify-image", "--ca", ca, "--in", img); !strings.Contains(out, "STB software") {
		t.Fatalf("verify-image: %s", out)
	}

	f, err := os.Open(inject)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var loader *dcasterm.Loader
	pool := smx509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(must(t, srv, root, "", "ca", "chain", "oem")))
	if err := dcas.ReadBlocks(f, func(block []byte) error {
		o, err := dcas.OpenBlock(station, block)
		if err == nil {
			loader, err = dcasterm.NewLoader(o.BLKey0, pool)
		}
		return err
	}); err != nil || loader == nil {
		t.Fatalf("inject.bin: %v", err)
	}
	image, _ := os.ReadFile(img)
	want, _ := os.ReadFile(software)
	if got, err := loader.Open(image); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the loader opens %d bytes, %v", len(got), err)
	}
	image[len(image)/2] ^= 1
	if _, err := loader.Open(image); err == nil {
		t.Fatal("the loader opens a changed image")
	}
	bad := file("bad.img", image)
	if r := cli(t, srv.addr, root, "dcas", "verify-image", "--ca", ca, "--in", bad); r.code == 0 || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("verify-image of a changed image: exit %d, %s", r.code, r.stderr)
	}
}
