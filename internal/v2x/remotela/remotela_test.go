package remotela

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/scms"
)

// fakeLA answers every call with status and body, and records the token.
func fakeLA(t *testing.T, status int, body string) (*httptest.Server, *string) {
	t.Helper()
	var token string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &token
}

func dial(t *testing.T, srv *httptest.Server) scms.LinkageAuthority {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	la, err := Dial(scms.RemoteLA{URL: srv.URL, Name: "cn-la1", Token: "s.secret-token", CACert: ca})
	if err != nil {
		t.Fatal(err)
	}
	return la
}

// TestAnswers: a seed comes back decoded, over TLS to the given CA, with
// the token.
func TestAnswers(t *testing.T) {
	srv, token := fakeLA(t, http.StatusOK, `{"seed":"000102030405060708090a0b0c0d0e0f","at":7,"end":9}`)
	r, err := dial(t, srv).LinkageSeed(context.Background(), scms.SeedRequest{ELCI: "e", IRev: 7})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seed[15] != 0x0f || r.At != 7 || r.End != 9 || !strings.Contains(*token, "s.secret-token") {
		t.Fatalf("seed %+v, token %q", r, *token)
	}
}

// TestFailures: whatever goes wrong is v2x_la_unavailable, naming the LA
// and never the token.
func TestFailures(t *testing.T) {
	if _, err := Dial(scms.RemoteLA{URL: "https://la.example", Token: "t", CACert: []byte("not PEM")}); err == nil {
		t.Error("CA certificates that are not PEM")
	}
	ctx := context.Background()
	for name, tc := range map[string]struct {
		status int
		body   string
		seed   bool
	}{
		"refused":          {http.StatusForbidden, `{"error":{"code":"permission_denied","message":"no"}}`, true},
		"short seed":       {http.StatusOK, `{"seed":"0001","at":1,"end":1}`, true},
		"PLV not COER":     {http.StatusOK, `{"plv":[["AAAA"]],"elci":"e"}`, false},
		"not an LA at all": {http.StatusNotFound, `<html>`, false},
	} {
		srv, _ := fakeLA(t, tc.status, tc.body)
		la := dial(t, srv)
		var err error
		if tc.seed {
			_, err = la.LinkageSeed(ctx, scms.SeedRequest{ELCI: "e"})
		} else {
			_, err = la.PreLinkage(ctx, scms.PLVRequest{Periods: 1, JMax: 1})
		}
		if !fault.Is(err, fault.LAUnavailable) || !strings.Contains(err.Error(), "cn-la1") || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
