package tlcp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The golden handshakes, one per suite, run with client authentication,
// fixed keys and certificates (testdata/golden_*.pem), a fixed clock and a
// deterministic random stream per side, so every byte on the wire, and
// thus the whole key schedule (PRF with SM3, SM2 key exchange for ECDHE,
// master secret, key block, Finished, record protection), is reproducible.
// The ECDHE suites are recorded twice: with the client's default
// ClientECDHParams (no length prefix) and with
// Config.ECDHEPrefixedClientParams.
var goldenCases = []goldenCase{
	{suite: ECC_SM4_CBC_SM3}, {suite: ECC_SM4_GCM_SM3}, {suite: ECDHE_SM4_CBC_SM3}, {suite: ECDHE_SM4_GCM_SM3},
	{suite: ECDHE_SM4_CBC_SM3, prefixed: true}, {suite: ECDHE_SM4_GCM_SM3, prefixed: true},
}

// goldenCase is one recorded handshake: a suite and whether the client
// sets ECDHEPrefixedClientParams.
type goldenCase struct {
	suite    uint16
	prefixed bool
}

// name is the suite's name, with "_PREFIXED" for the prefixed form.
func (g goldenCase) name() string {
	if g.prefixed {
		return CipherSuiteName(g.suite) + "_PREFIXED"
	}
	return CipherSuiteName(g.suite)
}

// goldenTranscript is the file of a case's recorded handshake.
func goldenTranscript(g goldenCase) string {
	return "testdata/handshake_" + strings.ToLower(g.name()) + ".txt"
}

var goldenTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// detRand is a deterministic stream: SM3(seed || counter) blocks.
type detRand struct {
	seed string
	ctr  uint64
	buf  []byte
}

func (r *detRand) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], r.ctr)
		r.ctr++
		h := sm3.New()
		h.Write([]byte(r.seed))
		h.Write(c[:])
		r.buf = h.Sum(r.buf)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// goldenConfigs returns the deterministic server and client configurations.
func goldenConfigs(t testing.TB, g goldenCase) (s, c *Config) {
	ca, server, client := goldenIdentities(t)
	pool := smx509.NewCertPool()
	pool.AddCert(ca)
	clock := func() time.Time { return goldenTime }
	s = &Config{
		Rand: &detRand{seed: "golden server"}, Time: clock,
		Certificate: server, ClientAuth: RequireAndVerifyClientCert, ClientCAs: pool,
		CipherSuites: []uint16{g.suite},
	}
	c = &Config{
		Rand: &detRand{seed: "golden client"}, Time: clock,
		Certificate: client, RootCAs: pool, ServerName: "server.test",
		CipherSuites: []uint16{g.suite}, ECDHEPrefixedClientParams: g.prefixed,
	}
	return s, c
}

// The scripted application exchange that follows the handshake.
func goldenClient(c *Conn) error {
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		return fmt.Errorf("client read %q: %v", buf, err)
	}
	return c.Close()
}

func goldenServer(c *Conn) error {
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		return fmt.Errorf("server read %q: %v", buf, err)
	}
	if _, err := c.Write([]byte("pong")); err != nil {
		return err
	}
	if _, err := c.Read(buf); err != io.EOF {
		return fmt.Errorf("server read after close_notify: %v", err)
	}
	return nil
}

// flight is one Write on the wire.
type flight struct {
	fromClient bool
	data       []byte
}

// recorder logs every Write of a net.Conn into a shared transcript.
type recorder struct {
	net.Conn
	fromClient bool
	log        chan<- flight
}

func (r *recorder) Write(p []byte) (int, error) {
	r.log <- flight{r.fromClient, append([]byte(nil), p...)}
	return r.Conn.Write(p)
}

func recordGolden(t *testing.T, g goldenCase) []flight {
	t.Helper()
	scfg, ccfg := goldenConfigs(t, g)
	cp, sp := net.Pipe()
	log := make(chan flight, 64)
	errc := make(chan error, 1)
	go func() { errc <- goldenServer(Server(&recorder{sp, false, log}, scfg)) }()
	if err := goldenClient(Client(&recorder{cp, true, log}, ccfg)); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
	close(log)
	var out []flight
	for f := range log {
		out = append(out, f)
	}
	return out
}

func encodeFlights(g goldenCase, fl []flight) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# TLCP %s with client authentication, then ping/pong and close_notify.\n", CipherSuiteName(g.suite))
	if g.prefixed {
		b.WriteString("# The client sends ClientECDHParams inside opaque<1..2^16-1> (ECDHEPrefixedClientParams).\n")
	}
	b.WriteString("# One line per write on the wire: C = client to server, S = server to client.\n")
	for _, f := range fl {
		dir := "S"
		if f.fromClient {
			dir = "C"
		}
		fmt.Fprintf(&b, "%s %x\n", dir, f.data)
	}
	return b.Bytes()
}

func readGolden(t testing.TB, g goldenCase) []flight {
	t.Helper()
	data, err := os.ReadFile(goldenTranscript(g))
	if err != nil {
		t.Fatal(err)
	}
	var out []flight
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		dir, hx, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, flight{dir == "C", b})
	}
	return out
}

func TestGoldenTranscript(t *testing.T) {
	for _, g := range goldenCases {
		t.Run(g.name(), func(t *testing.T) {
			file := goldenTranscript(g)
			got := encodeFlights(g, recordGolden(t, g))
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("transcript differs from %s:\n%s", file, got)
			}
		})
	}
}

// TestGoldenReplay replays one side of the recorded transcript against a
// fresh client or server and compares every byte the other side writes.
func TestGoldenReplay(t *testing.T) {
	for _, g := range goldenCases {
		t.Run(g.name(), func(t *testing.T) { goldenReplay(t, g) })
	}
}

func goldenReplay(t *testing.T, g goldenCase) {
	flights := readGolden(t, g)
	tests := []struct {
		name       string
		fromClient bool // direction our endpoint writes
		run        func(conn net.Conn, s, c *Config) error
	}{
		{"server", false, func(conn net.Conn, s, _ *Config) error { return goldenServer(Server(conn, s)) }},
		{"client", true, func(conn net.Conn, _, c *Config) error { return goldenClient(Client(conn, c)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scfg, ccfg := goldenConfigs(t, g)
			ours, peer := net.Pipe()
			errc := make(chan error, 1)
			go func() {
				errc <- tt.run(ours, scfg, ccfg)
				ours.Close()
			}()
			for i, f := range flights {
				if f.fromClient != tt.fromClient {
					if _, err := peer.Write(f.data); err != nil {
						t.Fatalf("flight %d: writing recorded bytes: %v", i, err)
					}
					continue
				}
				got := make([]byte, len(f.data))
				if _, err := io.ReadFull(peer, got); err != nil {
					t.Fatalf("flight %d: %v (endpoint: %v)", i, err, <-errc)
				}
				if !bytes.Equal(got, f.data) {
					t.Fatalf("flight %d differs:\n got %x\nwant %x", i, got, f.data)
				}
			}
			if err := <-errc; err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		})
	}
}
