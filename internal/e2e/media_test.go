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
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/dcas/dcasterm"
)

// TestMediaThroughCLI: mima media encrypt and decrypt on a real H.264
// clip from ffmpeg, against the real binary; the round trip is exact.
func TestMediaThroughCLI(t *testing.T) {
	needFFmpeg(t)
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

// needFFmpeg skips without ffmpeg, or fails under MIMA_REQUIRE_FFMPEG=1.
func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("MIMA_REQUIRE_FFMPEG") == "1" {
			t.Fatal("ffmpeg is needed (apt-get install ffmpeg)")
		}
		t.Skip("no ffmpeg")
	}
}

// ffmpeg runs ffmpeg and returns its standard output.
func ffmpeg(t *testing.T, args ...string) []byte {
	t.Helper()
	var errOut bytes.Buffer
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error"}, args...)...)
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v %s", args, err, errOut.String())
	}
	return out
}

// tsClip makes an H.264 MPEG-TS clip of 30 frames of size, a keyframe
// every 10, with an AAC sine tone.
func tsClip(t *testing.T, file, size string) {
	t.Helper()
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-f", "lavfi", "-i", "sine=frequency=440",
		"-frames:v", "30", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-c:a", "aac", "-shortest", "-f", "mpegts", file)
}

// frames decodes the video of a TS file to raw frames, one per picture.
func frames(t *testing.T, file string) []byte {
	t.Helper()
	return ffmpeg(t, "-err_detect", "ignore_err", "-i", file, "-map", "0:v", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
}

// relayRun is a `mima media relay` forwarding to a UDP socket of the test.
type relayRun struct {
	cmd      *exec.Cmd
	addr     string // where it listens
	stderr   bytes.Buffer
	capture  net.PacketConn
	received chan []byte // what it forwarded, datagram by datagram
}

// startRelay runs `mima media relay` with args against srv, forwarding
// to a socket of the test, and waits until it listens.
func startRelay(t *testing.T, srv *server, token string, args ...string) *relayRun {
	t.Helper()
	capture, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capture.Close() })
	_ = capture.(*net.UDPConn).SetReadBuffer(4 << 20)
	r := &relayRun{capture: capture, received: make(chan []byte, 1<<16)}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, _, err := capture.ReadFrom(buf)
			if err != nil {
				close(r.received)
				return
			}
			r.received <- bytes.Clone(buf[:n])
		}
	}()
	r.cmd = exec.Command(binary, append([]string{"media", "relay", "--listen", "127.0.0.1:0", "--upstream", capture.LocalAddr().String()}, args...)...)
	r.cmd.Env = append(os.Environ(), "MIMA_ADDR="+srv.addr, "MIMA_TOKEN="+token)
	r.cmd.Stderr = &r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); _ = r.cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if _, addr, ok := strings.Cut(lines.Text(), " listening on "); ok {
			r.addr = addr
			break
		}
	}
	if r.addr == "" {
		_ = r.cmd.Wait()
		t.Fatalf("the relay did not start: %s", r.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return r
}

// stop stops the relay (SIGTERM), which relays what it was sent and
// exits; it returns all it forwarded and its counters.
func (r *relayRun) stop(t *testing.T) (capture []byte, in, out, units, dropped int) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("the relay: %v %s", err, r.stderr.String())
	}
	var bad int
	if _, err := fmt.Sscanf(r.stderr.String(), "%d datagrams in, %d out, %d refused; %d video units (PES packets or access units), %d dropped", &in, &out, &bad, &units, &dropped); err != nil || bad != 0 {
		t.Fatalf("the relay's counters: %v in %q", err, r.stderr.String())
	}
	// Every datagram it sent is in the socket, or read: wait for each.
	for range out {
		d, ok := <-r.received
		if !ok {
			t.Fatal("the capture socket closed")
		}
		capture = append(capture, d...)
	}
	return capture, in, out, units, dropped
}

// TestMediaRelay: ffmpeg sends an H.264 TS clip with audio over UDP to
// mima media relay, which forwards it encrypted; the capture has a key
// SEI per GOP and media decrypt turns it into a TS that decodes to the
// original's frames bit for bit (the capture's name does not say TS:
// its sync bytes do). The relay's data key came from mima,
// and mima's audit shows it, and the unwrap of media decrypt.
func TestMediaRelay(t *testing.T) {
	needFFmpeg(t)
	srv, root := devServer(t)
	dir := t.TempDir()
	// capture.bin: media decrypt knows MPEG-TS by its sync bytes.
	clip, capFile, back := filepath.Join(dir, "cam.ts"), filepath.Join(dir, "capture.bin"), filepath.Join(dir, "back.ts")
	tsClip(t, clip, "640x360")
	must(t, srv, root, "", "key", "create", "cam", "--type", "sm4")
	r := startRelay(t, srv, root, "--key", "cam")
	// -re: ffmpeg sends at the clip's pace, as a camera would.
	ffmpeg(t, "-re", "-i", clip, "-map", "0", "-c", "copy", "-f", "mpegts", "udp://"+r.addr+"?pkt_size=1316")
	capture, in, out, units, dropped := r.stop(t)
	if in == 0 || out < in || units != 30 || dropped != 0 {
		t.Fatalf("relay: %d datagrams in, %d out, %d PES packets, %d dropped", in, out, units, dropped)
	}
	if err := os.WriteFile(capFile, capture, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(capture, []byte("mima-media-crypt")); n != 3 {
		t.Fatalf("%d key SEIs in the capture, want one per GOP", n)
	}
	must(t, srv, root, "", "media", "decrypt", "--in", capFile, "--out", back)
	want := frames(t, clip)
	if got := frames(t, back); len(want) != 30*640*360*3/2 || !bytes.Equal(got, want) {
		t.Fatalf("the decrypted capture decodes to %d bytes of frames, not the original's %d", len(got), len(want))
	}
	for _, op := range []string{"datakey", "decrypt"} {
		if out := must(t, srv, root, "", "audit", "search", "--op", op, "--format", "json"); !strings.Contains(out, `"cam"`) {
			t.Fatalf("no audit record of %s on cam: %s", op, out)
		}
	}
}

// TestMediaRelayLoss: the test sends the datagrams of a TS clip itself
// (paced by nothing but its loop) and leaves out one in the middle of
// the second GOP. The relay drops the damaged PES packet, keeps going,
// and its capture decrypts (integrity mode: every GOP's HMAC verifies)
// to a TS whose third GOP decodes to the original's frames bit for bit.
func TestMediaRelayLoss(t *testing.T) {
	needFFmpeg(t)
	srv, root := devServer(t)
	dir := t.TempDir()
	clip, capFile, back := filepath.Join(dir, "cam.ts"), filepath.Join(dir, "capture.ts"), filepath.Join(dir, "back.ts")
	tsClip(t, clip, "320x240")
	must(t, srv, root, "", "key", "create", "cam", "--type", "sm4")
	r := startRelay(t, srv, root, "--key", "cam", "--integrity")
	ts, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const video = 0x100 // ffmpeg's first elementary stream PID
	frame, skipped := 0, -1
	for i, d := 0, ts; len(d) > 0; i++ {
		dgram := d[:min(len(d), 7*188)]
		d = d[len(dgram):]
		starts, carries := 0, false
		for p := dgram; len(p) >= 188; p = p[188:] {
			if uint16(p[1]&0x1f)<<8|uint16(p[2]) == video {
				carries = true
				if p[1]&0x40 != 0 {
					starts++
				}
			}
		}
		frame += starts
		if skipped < 0 && frame == 15 && starts == 0 && carries {
			skipped = i
			continue
		}
		if _, err := conn.Write(dgram); err != nil {
			t.Fatal(err)
		}
	}
	if skipped < 0 {
		t.Fatal("no datagram to leave out inside frame 15")
	}
	capture, _, _, units, dropped := r.stop(t)
	if units != 30 || dropped != 1 {
		t.Fatalf("relay: %d PES packets, %d dropped, want 30 and 1", units, dropped)
	}
	if err := os.WriteFile(capFile, capture, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, srv, root, "", "media", "decrypt", "--in", capFile, "--out", back)
	want, got := frames(t, clip), frames(t, back)
	gop := 10 * 320 * 240 * 3 / 2
	if len(want) != 3*gop || len(got) != len(want)-gop/10 || !bytes.Equal(got[len(got)-gop:], want[2*gop:]) {
		t.Fatalf("the decrypted capture decodes to %d bytes, the original to %d: the third GOP differs", len(got), len(want))
	}
}
