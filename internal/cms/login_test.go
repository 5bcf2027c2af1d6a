package cms

import (
	"bytes"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/pki"
)

// answer signs a challenge with a mima key, as a USB key would.
func (e *env) answer(t testing.TB, key string, ch Challenge) []byte {
	t.Helper()
	sg, err := e.keys.Signer(ctx, tenant, key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sg.Sign(rand.Reader, ch.Nonce, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (e *env) challenge(t testing.TB) Challenge {
	t.Helper()
	ch, err := e.s.Challenge(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func (e *env) rules(t testing.TB, rules ...LoginRule) {
	t.Helper()
	for _, r := range rules {
		if _, _, err := e.s.PutLoginRule(ctx, tenant, r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogin logs in with certificates the rules map to policies: the
// first matching rule in name order wins, and a rule may be limited to
// one CA.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.root(t, "root")
	e.intermediate(t, "root", "staff")
	e.intermediate(t, "root", "partners")
	alice := e.key(t, "staff", "alice")
	e.key(t, "partners", "bob")
	e.key(t, "staff", "host", func(r *pki.IssueRequest) {
		r.SANs = pki.SANs{DNS: []string{"Build.Example.com"}}
	})
	e.rules(t,
		LoginRule{Name: "10-admins", Match: MatchSubject, Pattern: "CN=alice,*", Policies: []string{"admin"}, TTL: 15 * time.Minute},
		LoginRule{Name: "20-staff", Match: MatchEmail, Pattern: "*@EXAMPLE.com", CA: "staff", Policies: []string{"reader", "signer"}},
		LoginRule{Name: "30-hosts", Match: MatchDNS, Pattern: "*.example.com", Policies: []string{"ci"}},
	)
	for _, tc := range []struct {
		key, rule string
		policies  []string
		ttl       time.Duration
		ca        string
	}{
		{"alice", "10-admins", []string{"admin"}, 15 * time.Minute, "staff"},
		{"host", "30-hosts", []string{"ci"}, time.Hour, "staff"},
	} {
		c, err := e.ca.CertificateForKey(ctx, tenant, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		ch := e.challenge(t)
		id, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: ch.ID, Signature: e.answer(t, tc.key, ch), CertificatePEM: c.PEM()})
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if id.Rule != tc.rule || !slices.Equal(id.Policies, tc.policies) || id.TTL != tc.ttl || id.CA != tc.ca ||
			id.Certificate.Serial != trimSerial(c.Serial) || id.Certificate.Subject != c.Subject {
			t.Errorf("%s: identity %+v", tc.key, id)
		}
	}
	// bob's e-mail matches 20-staff, but partners issued his certificate.
	c, err := e.ca.CertificateForKey(ctx, tenant, "bob")
	if err != nil {
		t.Fatal(err)
	}
	ch := e.challenge(t)
	_, err = e.s.Login(ctx, tenant, LoginRequest{ChallengeID: ch.ID, Signature: e.answer(t, "bob", ch), CertificatePEM: c.PEM()})
	wantCode(t, "no rule", err, fault.LoginRuleNotMatched)
	if _, err := e.s.DeleteLoginRule(ctx, tenant, "10-admins"); err != nil {
		t.Fatal(err)
	}
	ch = e.challenge(t)
	id, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: ch.ID, Signature: e.answer(t, "alice", ch), CertificatePEM: alice.PEM()})
	if err != nil || id.Rule != "20-staff" || !slices.Equal(id.SANs.Email, []string{"alice@example.com"}) {
		t.Errorf("after deleting 10-admins: %+v, %v", id, err)
	}
}

// TestLoginRefuses covers every way a login fails.
func TestLoginRefuses(t *testing.T) {
	e := newEnv(t, WithChallengeTTL(time.Minute))
	e.root(t, "root")
	alice := e.key(t, "root", "alice")
	revoked := e.key(t, "root", "mallory")
	e.revoke(t, revoked.Serial, pki.KeyCompromise)
	short := e.key(t, "root", "short", func(r *pki.IssueRequest) { r.TTL = time.Hour })
	e.tsa(t, "root", "tsa") // creates TSAProfile, whose certificates are for timestamps only
	server := e.key(t, "root", "server", func(r *pki.IssueRequest) { r.Profile, r.SANs = TSAProfile, pki.SANs{} })
	e.rules(t, LoginRule{Name: "all", Match: MatchSubject, Pattern: "*", Policies: []string{"p"}})
	priv, foreign := selfSigned(t, "alice", e.clock.Now(), nil)

	used := e.challenge(t)
	if _, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: used.ID, Signature: e.answer(t, "alice", used), CertificatePEM: alice.PEM()}); err != nil {
		t.Fatal(err)
	}
	late := e.challenge(t)
	e.clock.Advance(time.Minute)

	for _, tc := range []struct {
		name string
		ch   Challenge
		key  string // signs; "" for the foreign key
		cert string
		code fault.Code
	}{
		{"replayed", used, "alice", alice.PEM(), fault.ChallengeInvalid},
		{"expired challenge", late, "alice", alice.PEM(), fault.ChallengeExpired},
		{"unknown challenge", Challenge{ID: "feed", Nonce: []byte("x")}, "alice", alice.PEM(), fault.ChallengeInvalid},
		{"signature by another key", e.challenge(t), "short", alice.PEM(), fault.SignatureInvalid},
		{"foreign certificate", e.challenge(t), "", pemOf(foreign), fault.CertificateUntrusted},
		{"revoked", e.challenge(t), "mallory", revoked.PEM(), fault.CertificateRevoked},
		{"not for client authentication", e.challenge(t), "server", server.PEM(), fault.CertificateUntrusted},
		{"not a certificate", e.challenge(t), "alice", "junk", fault.CertificateInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := signNonce(t, priv, tc.ch.Nonce)
			if tc.key != "" {
				sig = e.answer(t, tc.key, tc.ch)
			}
			_, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: tc.ch.ID, Signature: sig, CertificatePEM: tc.cert})
			wantCode(t, tc.name, err, tc.code)
		})
	}
	e.clock.Advance(time.Hour)
	ch := e.challenge(t)
	_, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: ch.ID, Signature: e.answer(t, "short", ch), CertificatePEM: short.PEM()})
	wantCode(t, "expired certificate", err, fault.CertificateExpired)

	// A challenge of another tenant, or one made before sealing, is gone.
	other, err := e.s.Challenge(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Login(ctx, tenant, LoginRequest{ChallengeID: other.ID, Signature: e.answer(t, "alice", other), CertificatePEM: alice.PEM()})
	wantCode(t, "other tenant's challenge", err, fault.ChallengeInvalid)
	ch = e.challenge(t)
	e.s.Sealed()
	e.unseal(t)
	_, err = e.s.Login(ctx, tenant, LoginRequest{ChallengeID: ch.ID, Signature: e.answer(t, "alice", ch), CertificatePEM: alice.PEM()})
	wantCode(t, "challenge from before sealing", err, fault.ChallengeInvalid)
}

func signNonce(t testing.TB, priv *sm2.PrivateKey, nonce []byte) []byte {
	t.Helper()
	sig, err := priv.Sign(rand.Reader, nonce, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestChallenge checks a challenge's shape and that each is new.
func TestChallenge(t *testing.T) {
	e := newEnv(t)
	a, b := e.challenge(t), e.challenge(t)
	if len(a.Nonce) != 32 || len(a.ID) != 32 || a.ID == b.ID || string(a.Nonce) == string(b.Nonce) ||
		!a.ExpiresAt.Equal(e.clock.Now().Add(DefaultChallengeTTL)) {
		t.Errorf("challenges %+v, %+v", a, b)
	}
	_, err := e.s.Challenge(ctx, "Bad Tenant")
	wantCode(t, "bad tenant", err, fault.InvalidArgument)
	e.s.Sealed()
	_, err = e.s.Challenge(ctx, tenant)
	wantCode(t, "sealed", err, fault.Sealed)
}

// TestWithRand checks that challenges draw from the injected randomness.
func TestWithRand(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 48)
	e := newEnv(t, WithRand(bytes.NewReader(seed)))
	ch := e.challenge(t)
	if ch.ID != strings.Repeat("07", 16) || !bytes.Equal(ch.Nonce, seed[16:]) {
		t.Errorf("challenge %+v", ch)
	}
	_, err := e.s.Challenge(ctx, tenant)
	wantCode(t, "randomness exhausted", err, fault.Internal)
}

// TestLoginRules covers the rules' CRUD and validation.
func TestLoginRules(t *testing.T) {
	e := newEnv(t)
	r, _, err := e.s.PutLoginRule(ctx, tenant, LoginRule{Name: "staff", Match: MatchEmail, Pattern: "*@acme.com", Policies: []string{"reader"}})
	if err != nil || r.TTL != time.Hour || !r.UpdatedAt.Equal(e.clock.Now()) {
		t.Fatalf("put %+v, %v", r, err)
	}
	got, err := e.s.GetLoginRule(ctx, tenant, "staff")
	if err != nil || got.Pattern != "*@acme.com" || !slices.Equal(got.Policies, []string{"reader"}) {
		t.Errorf("get %+v, %v", got, err)
	}
	e.rules(t, LoginRule{Name: "a", Match: MatchDNS, Pattern: "*", Policies: []string{"x"}})
	list, err := e.s.ListLoginRules(ctx, tenant)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "staff" {
		t.Errorf("list %+v, %v", list, err)
	}
	for _, tc := range []struct {
		name string
		r    LoginRule
	}{
		{"bad name", LoginRule{Name: "Bad", Match: MatchDNS, Pattern: "*", Policies: []string{"x"}}},
		{"bad match", LoginRule{Name: "r", Match: "issuer", Pattern: "*", Policies: []string{"x"}}},
		{"bad pattern", LoginRule{Name: "r", Match: MatchDNS, Pattern: "[", Policies: []string{"x"}}},
		{"empty pattern", LoginRule{Name: "r", Match: MatchDNS, Policies: []string{"x"}}},
		{"no policy", LoginRule{Name: "r", Match: MatchDNS, Pattern: "*"}},
		{"root policy", LoginRule{Name: "r", Match: MatchDNS, Pattern: "*", Policies: []string{"root"}}},
		{"bad CA", LoginRule{Name: "r", Match: MatchDNS, Pattern: "*", Policies: []string{"x"}, CA: "Bad CA"}},
		{"negative ttl", LoginRule{Name: "r", Match: MatchDNS, Pattern: "*", Policies: []string{"x"}, TTL: -time.Second}},
	} {
		_, _, err := e.s.PutLoginRule(ctx, tenant, tc.r)
		wantCode(t, tc.name, err, fault.InvalidArgument)
	}
	_, err = e.s.GetLoginRule(ctx, tenant, "nope")
	wantCode(t, "get absent", err, fault.LoginRuleNotFound)
	_, err = e.s.DeleteLoginRule(ctx, tenant, "nope")
	wantCode(t, "delete absent", err, fault.LoginRuleNotFound)
	if _, err := e.s.DeleteLoginRule(ctx, tenant, "a"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetLoginRule(ctx, tenant, "a")
	wantCode(t, "deleted", err, fault.LoginRuleNotFound)
}

// TestChallengeBudgetPerTenant checks that a flood of challenges for one
// tenant, who needs no credentials to ask, cannot lock the other tenants
// out of login: each tenant has its own budget of waiting challenges.
func TestChallengeBudgetPerTenant(t *testing.T) {
	e := newEnv(t)
	flooded := 0
	for ; flooded <= 200_000; flooded++ {
		_, err := e.s.Challenge(ctx, "flood")
		if fault.CodeOf(err) == fault.RateLimited {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if flooded != DefaultChallengesPerTenant {
		t.Fatalf("tenant flood was refused after %d challenges, want %d", flooded, DefaultChallengesPerTenant)
	}
	if _, err := e.s.Challenge(ctx, tenant); err != nil {
		t.Fatalf("after %d challenges of tenant flood, tenant %s: %v", flooded, tenant, err)
	}
	e.clock.Advance(DefaultChallengeTTL)
	if _, err := e.s.Challenge(ctx, "flood"); err != nil {
		t.Errorf("once the flood's challenges expired: %v", err)
	}
}

// TestWithChallengesPerTenant checks the configured budget: spent, it
// refuses the tenant until a challenge is answered or expires.
func TestWithChallengesPerTenant(t *testing.T) {
	e := newEnv(t, WithChallengesPerTenant(2), WithChallengeTTL(time.Minute))
	e.root(t, "root")
	alice := e.key(t, "root", "alice")
	e.rules(t, LoginRule{Name: "all", Match: MatchSubject, Pattern: "*", Policies: []string{"p"}})
	first := e.challenge(t)
	e.clock.Advance(time.Second)
	e.challenge(t)
	_, err := e.s.Challenge(ctx, tenant)
	wantCode(t, "third challenge", err, fault.RateLimited)
	if _, err := e.s.Login(ctx, tenant, LoginRequest{ChallengeID: first.ID, Signature: e.answer(t, "alice", first), CertificatePEM: alice.PEM()}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	e.challenge(t) // the answered one made room
	_, err = e.s.Challenge(ctx, tenant)
	wantCode(t, "budget spent again", err, fault.RateLimited)
	e.clock.Advance(time.Minute - time.Second) // the second one expired, the third not yet
	e.challenge(t)
	_, err = e.s.Challenge(ctx, tenant)
	wantCode(t, "one expired, one made", err, fault.RateLimited)
}
