package tlcp

import (
	"bytes"
	"testing"
	"time"
)

func TestSessionResumption(t *testing.T) {
	f := pki(t)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	tests := []struct {
		name       string
		suite      uint16
		clientAuth bool
		edit       func(s, c *Config) // applied before the second connection
		wantResume bool
	}{
		{"ECC_SM4_CBC_SM3", ECC_SM4_CBC_SM3, false, nil, true},
		{"ECC_SM4_GCM_SM3 with client certificates", ECC_SM4_GCM_SM3, true, nil, true},
		{"ECDHE_SM4_CBC_SM3", ECDHE_SM4_CBC_SM3, true, nil, true},
		{"ECDHE_SM4_GCM_SM3", ECDHE_SM4_GCM_SM3, true, nil, true},
		{"expired on the server", ECC_SM4_GCM_SM3, false, func(s, c *Config) { s.Time = later }, false},
		{"expired on the client", ECC_SM4_GCM_SM3, false, func(s, c *Config) { c.Time = later }, false},
		{"server cache lost", ECC_SM4_GCM_SM3, false, func(s, c *Config) { s.ServerSessionCache = NewLRUServerSessionCache(1) }, false},
		{"suite no longer offered", ECC_SM4_GCM_SM3, false, func(s, c *Config) { c.CipherSuites = []uint16{ECC_SM4_CBC_SM3} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scfg, ccfg := f.serverConfig(), f.clientConfig()
			scfg.ServerSessionCache = NewLRUServerSessionCache(8)
			scfg.SessionLifetime, ccfg.SessionLifetime = time.Hour, time.Hour
			ccfg.ClientSessionCache = NewLRUClientSessionCache(8)
			ccfg.CipherSuites = []uint16{tt.suite}
			if tt.clientAuth {
				scfg.ClientAuth = RequireAndVerifyClientCert
				ccfg.Certificate = f.client
			}
			first := mustConnect(t, scfg, ccfg)
			if first.client.ConnectionState().DidResume || first.server.ConnectionState().DidResume {
				t.Fatal("first connection claims resumption")
			}
			exchange(t, first, []byte("first"))

			if tt.edit != nil {
				tt.edit(scfg, ccfg)
			}
			second := mustConnect(t, scfg, ccfg)
			cs, ss := second.client.ConnectionState(), second.server.ConnectionState()
			if cs.DidResume != tt.wantResume || ss.DidResume != tt.wantResume {
				t.Fatalf("DidResume client %v server %v, want %v", cs.DidResume, ss.DidResume, tt.wantResume)
			}
			if !bytes.Equal(cs.PeerCertificates[0].Raw, f.server.SignCertificate) {
				t.Fatal("resumed client lost the server's certificates")
			}
			if tt.clientAuth && (len(ss.PeerCertificates) == 0 || !bytes.Equal(ss.PeerCertificates[0].Raw, f.client.SignCertificate)) {
				t.Fatal("resumed server lost the client's certificates")
			}
			exchange(t, second, []byte("second"))
		})
	}
}

func TestLRUCacheBound(t *testing.T) {
	c := NewLRUServerSessionCache(2)
	for _, id := range []string{"a", "b", "c"} {
		c.Put(id, &ServerSessionState{suite: ECC_SM4_GCM_SM3})
	}
	if _, ok := c.Get("a"); ok {
		t.Fatal("least recently used entry survived past the bound")
	}
	for _, id := range []string{"b", "c"} {
		if _, ok := c.Get(id); !ok {
			t.Fatalf("entry %q evicted early", id)
		}
	}
	c.Put("b", nil)
	if _, ok := c.Get("b"); ok {
		t.Fatal("Put(nil) did not delete")
	}
}
