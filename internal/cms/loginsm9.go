package cms

import (
	"context"
	"github.com/mimacrypto/mima/internal/fault"
)

// sm9SignHID is the function identifier of SM9 signature keys (GM/T 0044
// part 5), the only keys an SM9 login accepts.
const sm9SignHID = 0x01

// SM9LoginRequest answers a login challenge with an SM9 signature: the
// terminal signed the challenge's nonce (the bytes themselves) with the
// user key of identity ID, extracted by the tenant's KGC KGC with the
// signature function identifier 0x01.
type SM9LoginRequest struct {
	ChallengeID string
	KGC, ID     string
	// HID, when set, must be 0x01: a login is signed with a signature
	// key.
	HID       byte
	Signature []byte
}

// SM9Verifier checks an SM9 signature sig over msg by identity id under
// the master public key of the tenant's KGC kgc. It returns nil for a
// valid signature by a valid identity, and otherwise the refusal:
// signature_invalid, identity_expired, identity_revoked, or key_not_found
// for a KGC the tenant does not have. The KGC (internal/sm9) provides it;
// cms knows nothing of SM9.
type SM9Verifier func(ctx context.Context, tenant, kgc, id string, msg, sig []byte) error

// LoginSM9 checks a certificate-free answer to a login challenge: the
// challenge is consumed first, whatever follows (challenge_invalid when
// unknown or used already, challenge_expired when late); then the hid
// (invalid_argument unless 0x01), the SM9 signature over its nonce, and
// the identity's validity and revocation, all by verify. The first login
// rule matching "sm9" for that KGC whose pattern matches the identity
// gives the policies and TTL; none is login_rule_not_matched.
func (s *Service) LoginSM9(ctx context.Context, tenant string, req SM9LoginRequest, verify SM9Verifier) (Identity, error) {
	if err := checkTenant(tenant); err != nil {
		return Identity{}, err
	}
	if _, err := s.store.Backend(); err != nil {
		return Identity{}, err
	}
	nonce, err := s.challenges.consume(tenant, req.ChallengeID, s.clock())
	if err != nil {
		return Identity{}, err
	}
	if req.HID != 0 && req.HID != sm9SignHID {
		return Identity{}, fault.Invalid("an SM9 login is signed with a signature key, hid 0x01, not 0x%02x", req.HID)
	}
	if req.KGC == "" || req.ID == "" {
		return Identity{}, fault.Invalid("an SM9 login names its kgc and id")
	}
	if err := verify(ctx, tenant, req.KGC, req.ID, nonce, req.Signature); err != nil {
		return Identity{}, err
	}
	return s.matchRule(ctx, tenant, Identity{KGC: req.KGC, SM9ID: req.ID}, "identity "+req.ID+" of KGC "+req.KGC)
}
