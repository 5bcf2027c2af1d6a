package api

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/sm9dev"
)

// sm9Terminal is a simulated terminal: its SM2 key, to which the KGC
// delivers its SM9 key.
func sm9Terminal(t *testing.T) (*sm2.PrivateKey, string) {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// sm9Enrol extracts the key of id (hid 0: the default) from kgc1,
// delivers it to a fresh terminal's SM2 key and opens it there.
func (n *testNode) sm9Enrol(t *testing.T, tok, kgc, id string, hid int) *sm9dev.Key {
	t.Helper()
	sk, pub := sm9Terminal(t)
	var x sdk.SM9Extracted
	if r := n.do("POST", "/v1/keys/"+kgc+"/sm9/extract", tok, map[string]any{"id": id, "hid": hid, "deliver": map[string]string{"sm2_public_key": pub}}); r.status != http.StatusOK {
		t.Fatalf("extract %s: %d %s", id, r.status, r.body)
	} else {
		r.json(t, &x)
	}
	k, err := sm9dev.OpenEnvelope(id, x.Envelope, sk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSM9Login is issue 14's certificate-free login: a terminal signs the
// challenge with the SM9 key its KGC delivered, and a login rule of kind
// sm9 maps its identity to policies. Each refusal has its case.
func TestSM9Login(t *testing.T) {
	ctx := context.Background()
	n := newTestNode(t)
	admin := n.tenant("acme")
	for _, k := range []map[string]string{{"name": "kgc1", "type": "sm9-sign-master"}, {"name": "sm4k", "type": "sm4"}} {
		if r := n.do("POST", "/v1/keys", admin, k); r.status != http.StatusCreated {
			t.Fatalf("key: %d %s", r.status, r.body)
		}
	}
	n.do("PUT", "/v1/policies/telemetry", admin, map[string]any{"rules": []sdk.Rule{{Operations: []string{"sm9.verify"}, Objects: []string{"kgc1"}}}})
	// A certificate rule matching every subject, tried first (name
	// order), must not log in an SM9 identity.
	for name, rule := range map[string]map[string]any{
		"any-cert": {"match": "subject", "pattern": "*", "policies": []string{"telemetry"}},
		"rtus":     {"match": "sm9", "kgc": "kgc1", "pattern": "rtu-*", "policies": []string{"telemetry"}, "ttl": "1h"},
	} {
		if r := n.do("PUT", "/v1/auth/rules/"+name, admin, rule); r.status != http.StatusOK {
			t.Fatalf("rule %s: %d %s", name, r.status, r.body)
		}
	}
	c, err := sdk.New(n.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	code := func(err error) string { return apiCode(err) }

	// Delivered to the terminal's SM2 key, and sealed under a password.
	k1 := n.sm9Enrol(t, admin, "kgc1", "rtu-1", 0)
	var x sdk.SM9Extracted
	n.do("POST", "/v1/keys/kgc1/sm9/extract", admin, map[string]any{"id": "rtu-2", "deliver": map[string]string{"password": "one-time password"}}).json(t, &x)
	k2, err := sm9dev.OpenSealed("rtu-2", x.Sealed, []byte("one-time password"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*sm9dev.Key{k1, k2} {
		res, err := k.Login(ctx, c, "acme", "kgc1")
		if err != nil {
			t.Fatalf("%s: login: %v", k.ID(), err)
		}
		if res.Rule != "rtus" || res.SM9 == nil || res.SM9.ID != k.ID() {
			t.Fatalf("%s: login answered %+v", k.ID(), res)
		}
		// The token holds the rule's policies: it verifies the terminal's
		// telemetry.
		sig, err := k.Sign([]byte("telemetry"))
		if err != nil {
			t.Fatal(err)
		}
		var v sdk.SM9VerifyResult
		if r := n.do("POST", "/v1/keys/kgc1/sm9/verify", res.Token, map[string]any{"id": k.ID(), "input": []byte("telemetry"), "signature": sig}); r.status != http.StatusOK {
			t.Fatalf("verify with the login token: %d %s", r.status, r.body)
		} else if r.json(t, &v); !v.Valid {
			t.Fatalf("the terminal's telemetry: %+v", v)
		}
	}

	t.Run("unknown KGC", func(t *testing.T) {
		for _, kgc := range []string{"nokgc", "sm4k"} {
			if _, err := k1.Login(ctx, c, "acme", kgc); code(err) != "key_not_found" {
				t.Errorf("KGC %q: %v, want key_not_found", kgc, err)
			}
		}
	})
	t.Run("no rule", func(t *testing.T) {
		k := n.sm9Enrol(t, admin, "kgc1", "cam-1", 0)
		if _, err := k.Login(ctx, c, "acme", "kgc1"); code(err) != "login_rule_not_matched" {
			t.Fatalf("%v, want login_rule_not_matched", err)
		}
	})
	t.Run("replayed challenge", func(t *testing.T) {
		ch, err := c.Auth().LoginChallenge(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := k1.Sign(ch.Nonce)
		req := sdk.LoginRequest{Tenant: "acme", ChallengeID: ch.ID, Signature: sig, SM9: &sdk.SM9Login{KGC: "kgc1", ID: "rtu-1"}}
		if _, err := c.Auth().Login(ctx, req); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Auth().Login(ctx, req); code(err) != "challenge_invalid" {
			t.Fatalf("replay: %v, want challenge_invalid", err)
		}
	})
	t.Run("wrong hid", func(t *testing.T) {
		ch, _ := c.Auth().LoginChallenge(ctx, "acme")
		sig, _ := k1.Sign(ch.Nonce)
		if _, err := c.Auth().Login(ctx, sdk.LoginRequest{Tenant: "acme", ChallengeID: ch.ID, Signature: sig, SM9: &sdk.SM9Login{KGC: "kgc1", ID: "rtu-1", HID: 3}}); code(err) != "invalid_argument" {
			t.Fatalf("hid 3: %v, want invalid_argument", err)
		}
		// A key of the same identity extracted under hid 2 does not sign
		// for hid 1.
		k := n.sm9Enrol(t, admin, "kgc1", "rtu-1", 2)
		if _, err := k.Login(ctx, c, "acme", "kgc1"); code(err) != "signature_invalid" {
			t.Fatalf("a hid-2 key: %v, want signature_invalid", err)
		}
	})
	t.Run("other identity's key", func(t *testing.T) {
		ch, _ := c.Auth().LoginChallenge(ctx, "acme")
		sig, _ := k2.Sign(ch.Nonce)
		if _, err := c.Auth().Login(ctx, sdk.LoginRequest{Tenant: "acme", ChallengeID: ch.ID, Signature: sig, SM9: &sdk.SM9Login{KGC: "kgc1", ID: "rtu-1"}}); code(err) != "signature_invalid" {
			t.Fatalf("rtu-2's signature as rtu-1: %v, want signature_invalid", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		k := n.sm9Enrol(t, admin, "kgc1", "rtu-revoked", 0)
		if _, err := k.Login(ctx, c, "acme", "kgc1"); err != nil {
			t.Fatal(err)
		}
		n.do("POST", "/v1/keys/kgc1/sm9/revoke", admin, map[string][]string{"ids": {"rtu-revoked"}})
		if _, err := k.Login(ctx, c, "acme", "kgc1"); code(err) != "identity_revoked" {
			t.Fatalf("%v, want identity_revoked", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		year := n.clock.Now().UTC().Year()
		k := n.sm9Enrol(t, admin, "kgc1", "rtu-x|"+strconv.Itoa(year), 0)
		if _, err := k.Login(ctx, c, "acme", "kgc1"); err != nil {
			t.Fatal(err)
		}
		n.clock.Set(time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC))
		if _, err := k.Login(ctx, c, "acme", "kgc1"); code(err) != "identity_expired" {
			t.Fatalf("%v, want identity_expired", err)
		}
	})
}

// TestSM9LoginRuleGrants checks that an sm9 rule is a login rule like the
// others: it grants only what its writer could grant a child, and its
// tokens die with it.
func TestSM9LoginRuleGrants(t *testing.T) {
	ctx := context.Background()
	n := newTestNode(t)
	admin := n.tenant("acme")
	n.do("POST", "/v1/keys", admin, map[string]string{"name": "kgc1", "type": "sm9-sign-master"})
	n.do("PUT", "/v1/policies/rules", admin, map[string]any{"rules": []sdk.Rule{{Operations: []string{"auth.rules.write"}, Objects: []string{"*"}}}})
	var app sdk.TokenCreated
	n.do("POST", "/v1/tokens", admin, map[string]any{"policies": []string{"rules"}}).json(t, &app)
	rule := map[string]any{"match": "sm9", "kgc": "kgc1", "pattern": "*", "policies": []string{"admin"}}
	if r := n.do("PUT", "/v1/auth/rules/all", app.Token, rule); r.status != http.StatusForbidden {
		t.Fatalf("a non-admin wrote an sm9 rule granting admin: %d %s", r.status, r.body)
	}
	for _, bad := range []map[string]any{
		{"match": "sm9", "pattern": "*", "policies": []string{"rules"}},
		{"match": "sm9", "kgc": "kgc1", "ca": "ca1", "pattern": "*", "policies": []string{"rules"}},
		{"match": "subject", "kgc": "kgc1", "pattern": "*", "policies": []string{"rules"}},
	} {
		if r := n.do("PUT", "/v1/auth/rules/bad", admin, bad); r.status != http.StatusBadRequest {
			t.Errorf("rule %v: %d %s", bad, r.status, r.body)
		}
	}
	if r := n.do("PUT", "/v1/auth/rules/all", admin, rule); r.status != http.StatusOK {
		t.Fatalf("rule: %d %s", r.status, r.body)
	}
	c, err := sdk.New(n.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.sm9Enrol(t, admin, "kgc1", "rtu-1", 0).Login(ctx, c, "acme", "kgc1")
	if err != nil {
		t.Fatal(err)
	}
	if r := n.do("GET", "/v1/tokens/self", res.Token, nil); r.status != http.StatusOK {
		t.Fatalf("the login token: %d %s", r.status, r.body)
	}
	n.do("DELETE", "/v1/auth/rules/all", admin, nil)
	if r := n.do("GET", "/v1/tokens/self", res.Token, nil); r.status == http.StatusOK {
		t.Fatalf("the login token outlived its rule: %s", r.body)
	}
}

// TestSM9ExchangeWithDevice runs the key exchange of GM/T 0044 part 3
// between a terminal (sdk/sm9dev, initiator) and a hosted identity
// (responder): both end with the same key, and a wrong S_B is refused.
func TestSM9ExchangeWithDevice(t *testing.T) {
	n := newTestNode(t)
	admin := n.tenant("acme")
	n.do("POST", "/v1/keys", admin, map[string]string{"name": "ekgc", "type": "sm9-enc-master"})
	n.do("POST", "/v1/keys/ekgc/sm9/extract", admin, map[string]any{"id": "gw-1", "hid": 2, "deliver": map[string]bool{"hosted": true}})
	dev := n.sm9Enrol(t, admin, "ekgc", "rtu-1", 2)
	x, ra, err := dev.StartExchange("gw-1", 32)
	if err != nil {
		t.Fatal(err)
	}
	var res sdk.SM9ExchangeResult
	if r := n.do("POST", "/v1/keys/ekgc/sm9/exchange", admin, sdk.SM9ExchangeRequest{ID: "gw-1", Peer: "rtu-1", RA: ra, Length: 32}); r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	} else {
		r.json(t, &res)
	}
	key, err := x.Finish(res.RB, res.SB)
	if err != nil || len(key) != 32 || string(key) != string(res.Key) {
		t.Fatalf("the terminal's key %x, the hosted identity's %x, %v", key, res.Key, err)
	}
	x, ra, _ = dev.StartExchange("gw-1", 32)
	n.do("POST", "/v1/keys/ekgc/sm9/exchange", admin, sdk.SM9ExchangeRequest{ID: "gw-1", Peer: "rtu-1", RA: ra, Length: 32}).json(t, &res)
	res.SB[0] ^= 1
	if _, err := x.Finish(res.RB, res.SB); err == nil {
		t.Fatal("a wrong S_B was accepted")
	}
}

// apiCode is the error code of an API error, "" for any other error.
func apiCode(err error) string {
	var e *sdk.APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
