package cms

import (
	"context"
	"encoding/hex"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
)

// Bounds on login challenges.
const (
	challengeBytes = 32
	// maxChallenges bounds the challenges waiting for an answer, all
	// tenants together.
	maxChallenges = 100_000
)

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

// challenges are the challenges not yet answered, by ID.
type challenges struct {
	mu sync.Mutex
	m  map[string]pendingChallenge
}

type pendingChallenge struct {
	tenant  string
	nonce   []byte
	expires time.Time
}

func (c *challenges) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// Challenge returns a new login challenge for the tenant, which Login
// accepts once, within the challenge lifetime (WithChallengeTTL, 2
// minutes by default).
//
// Challenges live in the memory of the node that made them, and die with
// it and when it seals: behind a load balancer, Login must reach the node
// that answered Challenge (route by ID or stickily), and a restart
// invalidates pending challenges, which clients simply ask again. Keeping
// them in memory is what makes "once" hold without a cluster lock. At
// most 100,000 wait at a time; beyond, Challenge is rate_limited until
// some expire or are answered.
func (s *Service) Challenge(ctx context.Context, tenant string) (Challenge, error) {
	if err := checkTenant(tenant); err != nil {
		return Challenge{}, err
	}
	if _, err := s.backend(); err != nil {
		return Challenge{}, err
	}
	buf := make([]byte, 16+challengeBytes)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return Challenge{}, internalErr(err)
	}
	now := s.clock()
	ch := Challenge{ID: hex.EncodeToString(buf[:16]), Nonce: buf[16:], ExpiresAt: now.Add(s.challengeTTL)}
	c := &s.challenges
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxChallenges {
		for id, p := range c.m {
			if !now.Before(p.expires) {
				delete(c.m, id)
			}
		}
		if len(c.m) >= maxChallenges {
			return Challenge{}, fault.New(fault.RateLimited, "too many login challenges wait for an answer; try again later")
		}
	}
	c.m[ch.ID] = pendingChallenge{tenant: tenant, nonce: ch.Nonce, expires: ch.ExpiresAt}
	return ch, nil
}

// consume takes the challenge id of tenant, which can then never be used
// again, and returns its nonce: challenge_invalid when there is no such
// challenge (never made, answered already, or another tenant's),
// challenge_expired when it is too late.
func (c *challenges) consume(tenant, id string, now time.Time) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[id]
	if !ok || p.tenant != tenant {
		return nil, fault.New(fault.ChallengeInvalid, "the login challenge is unknown or was used already")
	}
	delete(c.m, id)
	if !now.Before(p.expires) {
		return nil, fault.New(fault.ChallengeExpired, "the login challenge expired at %s", p.expires.Format(time.RFC3339))
	}
	return p.nonce, nil
}
