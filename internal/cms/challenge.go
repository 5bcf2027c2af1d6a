package cms

import (
	"context"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// challengeBytes is the size of a challenge's nonce.
const challengeBytes = 32

// DefaultChallengesPerTenant bounds the challenges that wait for an
// answer in one tenant (WithChallengesPerTenant).
const DefaultChallengesPerTenant = 10_000

// Challenge is what a client proves possession of a certificate's key
// with: it signs Nonce and hands the signature to Login with ID.
type Challenge struct {
	ID string
	// Nonce is 32 random bytes; the client signs these bytes themselves
	// (not their hex form) with SM2 over SM3 under the identity
	// "1234567812345678", as a USB key does.
	Nonce     []byte
	ExpiresAt time.Time
}

// challenges are the challenges not yet answered, by tenant and ID.
type challenges struct {
	mu     sync.Mutex
	limit  int // per tenant
	tenant map[string]*tenantChallenges
}

// tenantChallenges are one tenant's waiting challenges. oldest is the
// earliest expiry among them (or earlier): no sweep can free any before.
type tenantChallenges struct {
	m      map[string]pendingChallenge
	oldest time.Time
}

type pendingChallenge struct {
	nonce   []byte
	expires time.Time
}

// Purge drops every pending challenge: they belong to one unsealed period
// of this node.
func (c *challenges) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.tenant)
}

// Challenge returns a new login challenge for the tenant, which Login
// accepts once, within the challenge lifetime (WithChallengeTTL, 2
// minutes by default).
//
// Challenges live in the memory of the node that made them, and die with
// it and when it seals: behind a load balancer, Login must reach the node
// that answered Challenge (route by ID or stickily), and a restart
// invalidates pending challenges, which clients simply ask again. Keeping
// them in memory is what makes "once" hold without a cluster lock. Each
// tenant has its own budget of waiting challenges
// (WithChallengesPerTenant); beyond it, Challenge is rate_limited for that
// tenant only, until some expire or are answered. The caller checks that
// the tenant exists.
func (s *Service) Challenge(ctx context.Context, tenant string) (Challenge, error) {
	if err := checkTenant(tenant); err != nil {
		return Challenge{}, err
	}
	if _, err := s.store.Backend(); err != nil {
		return Challenge{}, err
	}
	buf := make([]byte, 16+challengeBytes)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return Challenge{}, fault.Unexpected(err)
	}
	now := s.clock()
	ch := Challenge{ID: hex.EncodeToString(buf[:16]), Nonce: buf[16:], ExpiresAt: now.Add(s.challengeTTL)}
	if err := s.challenges.add(tenant, ch, now); err != nil {
		return Challenge{}, err
	}
	return ch, nil
}

// add keeps ch for tenant unless the tenant's budget is spent by
// challenges that have not expired at now.
func (c *challenges) add(tenant string, ch Challenge, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	tc := c.tenant[tenant]
	if tc == nil {
		tc = &tenantChallenges{m: map[string]pendingChallenge{}, oldest: ch.ExpiresAt}
		c.tenant[tenant] = tc
	}
	if len(tc.m) >= c.limit && !now.Before(tc.oldest) {
		tc.oldest = ch.ExpiresAt
		for id, p := range tc.m {
			if !now.Before(p.expires) {
				delete(tc.m, id)
			} else if p.expires.Before(tc.oldest) {
				tc.oldest = p.expires
			}
		}
	}
	if len(tc.m) >= c.limit {
		return fault.New(fault.RateLimited, "too many login challenges of the tenant wait for an answer; try again later")
	}
	tc.oldest = minTime(tc.oldest, ch.ExpiresAt)
	tc.m[ch.ID] = pendingChallenge{nonce: ch.Nonce, expires: ch.ExpiresAt}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// consume takes the challenge id of tenant, which can then never be used
// again, and returns its nonce: challenge_invalid when there is no such
// challenge (never made, answered already, or another tenant's),
// challenge_expired when it is too late.
func (c *challenges) consume(tenant, id string, now time.Time) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tc := c.tenant[tenant]
	var p pendingChallenge
	ok := tc != nil
	if ok {
		p, ok = tc.m[id]
	}
	if !ok {
		return nil, fault.New(fault.ChallengeInvalid, "the login challenge is unknown or was used already")
	}
	delete(tc.m, id)
	if len(tc.m) == 0 {
		delete(c.tenant, tenant)
	}
	if !now.Before(p.expires) {
		return nil, fault.New(fault.ChallengeExpired, "the login challenge expired at %s", p.expires.Format(time.RFC3339))
	}
	return p.nonce, nil
}
