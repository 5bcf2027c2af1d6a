package tlcp

import (
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// sealRaw protects payload with the client's current write keys exactly as
// Write would, without the 2^14 fragmentation.
func sealRaw(t *testing.T, c *Conn, typ recordType, payload []byte) []byte {
	t.Helper()
	c.outMu.Lock()
	defer c.outMu.Unlock()
	rec, err := c.out.seal(nil, typ, payload, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// readErr reads from c until an error, returning it.
func readErr(c *Conn) error {
	buf := make([]byte, 1024)
	for {
		if _, err := c.Read(buf); err != nil {
			return err
		}
	}
}

func TestTamperedRecordIsRejected(t *testing.T) {
	f := pki(t)
	for _, suite := range []uint16{ECC_SM4_CBC_SM3, ECC_SM4_GCM_SM3} {
		for _, where := range []struct {
			name string
			pos  func(n int) int
		}{
			{"IV or explicit nonce", func(n int) int { return recordHeaderLen + 1 }},
			{"ciphertext", func(n int) int { return recordHeaderLen + 20 }},
			{"MAC or tag", func(n int) int { return n - 1 }},
		} {
			t.Run(CipherSuiteName(suite)+"/"+where.name, func(t *testing.T) {
				ccfg := f.clientConfig()
				ccfg.CipherSuites = []uint16{suite}
				p := mustConnect(t, f.serverConfig(), ccfg)
				rec := sealRaw(t, p.client, recordTypeApplicationData, []byte("a record worth protecting, several blocks long"))
				rec[where.pos(len(rec))] ^= 0x80
				if _, err := p.client.conn.Write(rec); err != nil {
					t.Fatal(err)
				}
				err := readErr(p.server)
				if !isAlert(err, alertBadRecordMAC) {
					t.Fatalf("server read error = %v, want bad_record_mac", err)
				}
				var ra *RemoteAlertError
				if err := readErr(p.client); !errors.As(err, &ra) || ra.Alert != alertBadRecordMAC {
					t.Fatalf("client read error = %v, want remote bad_record_mac", err)
				}
				if _, err := p.server.Write([]byte("more")); err == nil {
					t.Fatal("server still writes after a fatal alert")
				}
				if err2 := readErr(p.server); !errors.Is(err2, err) && err2.Error() != err.Error() {
					t.Fatalf("server read error not sticky: %v then %v", err, err2)
				}
			})
		}
	}
}

func TestTruncatedRecord(t *testing.T) {
	f := pki(t)
	tests := []struct {
		name string
		cut  func(rec []byte) []byte
	}{
		{"header only", func(rec []byte) []byte { return rec[:3] }},
		{"half a body", func(rec []byte) []byte { return rec[:len(rec)/2] }},
		{"all but one byte", func(rec []byte) []byte { return rec[:len(rec)-1] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustConnect(t, f.serverConfig(), f.clientConfig())
			rec := sealRaw(t, p.client, recordTypeApplicationData, []byte("truncated in transit"))
			if _, err := p.client.conn.Write(tt.cut(rec)); err != nil {
				t.Fatal(err)
			}
			_ = p.client.conn.Close()
			if err := readErr(p.server); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("server read error = %v, want unexpected EOF", err)
			}
		})
	}
}

func TestOversizedRecord(t *testing.T) {
	f := pki(t)
	tests := []struct {
		name   string
		record func(t *testing.T, c *Conn) []byte
	}{
		{"length field above 2^14+2048", func(t *testing.T, c *Conn) []byte {
			n := maxCiphertext + 1
			return append([]byte{byte(recordTypeApplicationData), versionHi, versionLo, byte(n >> 8), byte(n)}, make([]byte, n)...)
		}},
		{"plaintext above 2^14", func(t *testing.T, c *Conn) []byte {
			return sealRaw(t, c, recordTypeApplicationData, make([]byte, maxPlaintext+1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustConnect(t, f.serverConfig(), f.clientConfig())
			if _, err := p.client.conn.Write(tt.record(t, p.client)); err != nil {
				t.Fatal(err)
			}
			if err := readErr(p.server); !isAlert(err, alertRecordOverflow) {
				t.Fatalf("server read error = %v, want record_overflow", err)
			}
			var ra *RemoteAlertError
			if err := readErr(p.client); !errors.As(err, &ra) || ra.Alert != alertRecordOverflow {
				t.Fatalf("client read error = %v, want remote record_overflow", err)
			}
		})
	}
}

func TestCloseNotify(t *testing.T) {
	f := pki(t)
	p := mustConnect(t, f.serverConfig(), f.clientConfig())
	if err := p.client.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := readErr(p.server); err != io.EOF {
		t.Fatalf("server read after close_notify = %v, want io.EOF", err)
	}
	if _, err := p.client.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// TestCloseWrite half-closes: the peer reads io.EOF and can still answer.
func TestCloseWrite(t *testing.T) {
	f := pki(t)
	if err := Client(nil, f.clientConfig()).CloseWrite(); err == nil {
		t.Fatal("CloseWrite before the handshake succeeded")
	}
	p := mustConnect(t, f.serverConfig(), f.clientConfig())
	if err := p.client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Write([]byte("x")); err == nil {
		t.Fatal("write after CloseWrite succeeded")
	}
	if err := readErr(p.server); err != io.EOF {
		t.Fatalf("server read after CloseWrite = %v, want io.EOF", err)
	}
	if _, err := p.server.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(p.client, buf); err != nil || string(buf) != "late" {
		t.Fatalf("client read after its CloseWrite: %q, %v", buf, err)
	}
}

func TestRenegotiationRefused(t *testing.T) {
	f := pki(t)
	tests := []struct {
		name     string
		sender   func(p *pair) *Conn
		receiver func(p *pair) *Conn
		msg      handshakeMessage
	}{
		{"ClientHello to server", func(p *pair) *Conn { return p.client }, func(p *pair) *Conn { return p.server },
			&clientHelloMsg{vers: VersionTLCP, random: make([]byte, randomLen), cipherSuites: []uint16{ECC_SM4_GCM_SM3}, compressionMethods: []uint8{0}}},
		{"HelloRequest to client", func(p *pair) *Conn { return p.server }, func(p *pair) *Conn { return p.client },
			&helloRequestMsg{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustConnect(t, f.serverConfig(), f.clientConfig())
			rec := sealRaw(t, tt.sender(p), recordTypeHandshake, tt.msg.marshal())
			if _, err := tt.sender(p).conn.Write(rec); err != nil {
				t.Fatal(err)
			}
			if err := readErr(tt.receiver(p)); !isAlert(err, alertNoRenegotiation) {
				t.Fatalf("read error = %v, want no_renegotiation", err)
			}
			// The sender sees the no_renegotiation warning on the wire.
			raw := make([]byte, 64)
			n, err := io.ReadAtLeast(tt.sender(p).conn, raw, recordHeaderLen)
			if err != nil {
				t.Fatal(err)
			}
			if recordType(raw[0]) != recordTypeAlert || n < recordHeaderLen {
				t.Fatalf("sender got record type %d, want an alert", raw[0])
			}
			sender := tt.sender(p)
			sender.inMu.Lock()
			plain, err := sender.in.open(raw[:recordHeaderLen], raw[recordHeaderLen:n])
			sender.inMu.Unlock()
			if err != nil || len(plain) != 2 || plain[0] != alertLevelWarning || AlertError(plain[1]) != alertNoRenegotiation {
				t.Fatalf("sender got alert %x (%v), want warning no_renegotiation", plain, err)
			}
		})
	}
}

func TestProtocolViolationsAfterHandshake(t *testing.T) {
	f := pki(t)
	tests := []struct {
		name   string
		record func(t *testing.T, c *Conn) []byte
		alert  AlertError
	}{
		{"flood of empty records", func(t *testing.T, c *Conn) []byte {
			var out []byte
			for range maxEmptyRecords + 1 {
				out = append(out, sealRaw(t, c, recordTypeApplicationData, nil)...)
			}
			return out
		}, alertUnexpectedMessage},
		{"ChangeCipherSpec after the handshake", func(t *testing.T, c *Conn) []byte {
			return sealRaw(t, c, recordTypeChangeCipherSpec, []byte{1})
		}, alertUnexpectedMessage},
		{"unknown record type", func(t *testing.T, c *Conn) []byte {
			return sealRaw(t, c, recordType(99), []byte("x"))
		}, alertUnexpectedMessage},
		{"TLS 1.2 record version", func(t *testing.T, c *Conn) []byte {
			rec := sealRaw(t, c, recordTypeApplicationData, []byte("x"))
			rec[1], rec[2] = 3, 3
			return rec
		}, alertProtocolVersion},
		{"Finished after the handshake", func(t *testing.T, c *Conn) []byte {
			return sealRaw(t, c, recordTypeHandshake, (&finishedMsg{verifyData: make([]byte, verifyDataLen)}).marshal())
		}, alertUnexpectedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustConnect(t, f.serverConfig(), f.clientConfig())
			if _, err := p.client.conn.Write(tt.record(t, p.client)); err != nil {
				t.Fatal(err)
			}
			if err := readErr(p.server); !isAlert(err, tt.alert) {
				t.Fatalf("server read error = %v, want %v", err, tt.alert)
			}
			var ra *RemoteAlertError
			if err := readErr(p.client); !errors.As(err, &ra) || ra.Alert != tt.alert {
				t.Fatalf("client read error = %v, want remote %v", err, tt.alert)
			}
		})
	}
}
