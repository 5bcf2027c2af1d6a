package sm9

import (
	"github.com/emmansun/gmsm/sm9"

	"context"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// PublicKey is a KGC's master public key: PEM (see EncodePEM) and DER.
type PublicKey struct {
	PEM     string
	DER     []byte
	Type    device.KeyType
	Version int
}

// PublicKey returns version v (0 for the latest) of the master public
// key of kgc.
func (s *Service) PublicKey(ctx context.Context, tenant, kgc string, v int) (PublicKey, error) {
	der, t, v, err := s.keys.SM9MasterPublic(ctx, tenant, kgc, v)
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{PEM: EncodePEM(t, der), DER: der, Type: t, Version: v}, nil
}

// SignRequest signs Input with the hosted key of identity ID.
type SignRequest struct {
	ID    string
	Input []byte
	HID   byte // 0: device.SM9SignHID
}

// Sign signs with a hosted identity key and returns the DER SM9Signature.
func (s *Service) Sign(ctx context.Context, tenant, kgc string, req SignRequest) ([]byte, error) {
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return s.sign(ctx, tenant, kgc, rev, req)
}

// SignBatch is Sign for up to MaxBatch items, computed in parallel.
func (s *Service) SignBatch(ctx context.Context, tenant, kgc string, reqs []SignRequest) ([]kms.Result[[]byte], error) {
	if err := CheckBatch(len(reqs)); err != nil {
		return nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return parallel(reqs, func(q SignRequest) ([]byte, error) { return s.sign(ctx, tenant, kgc, rev, q) }), nil
}

func (s *Service) sign(ctx context.Context, tenant, kgc string, rev revocations, req SignRequest) ([]byte, error) {
	k, err := s.hosted(ctx, tenant, kgc, rev, req.ID, req.HID, device.SM9SignUser)
	if err != nil {
		return nil, err
	}
	sig, err := k.(device.SM9Signer).Sign(ctx, req.Input)
	if err != nil {
		return nil, fault.Wrap(err, fault.Internal, "the key device failed to sign")
	}
	return sig, nil
}

// hosted returns the hosted key of identity id, refusing an identity that
// is malformed, expired or revoked.
func (s *Service) hosted(ctx context.Context, tenant, kgc string, rev revocations, id string, hid byte, t device.KeyType) (device.Key, error) {
	if err := s.checkIdentity(id); err != nil {
		return nil, err
	}
	if err := rev.check(id); err != nil {
		return nil, err
	}
	if hid == 0 {
		_, hid = userType(masterOf(t))
	}
	return s.keys.SM9User(ctx, tenant, HostedName(kgc, id, hid), t)
}

func masterOf(t device.KeyType) device.KeyType {
	if t == device.SM9SignUser {
		return device.SM9SignMaster
	}
	return device.SM9EncMaster
}

// VerifyRequest checks Signature over Input by identity ID.
type VerifyRequest struct {
	ID        string
	Input     []byte
	Signature []byte
	HID       byte // 0: device.SM9SignHID
	Version   int  // master key version; 0 for the latest
}

// Verdict is the outcome of a verification: Reason says why a signature
// is not valid when the identity, not the signature, is at fault
// (identity_expired, identity_revoked).
type Verdict struct {
	Valid  bool
	Reason fault.Code
}

// Verify checks an SM9 signature with the master public key of kgc.
func (s *Service) Verify(ctx context.Context, tenant, kgc string, req VerifyRequest) (Verdict, error) {
	out, err := s.VerifyBatch(ctx, tenant, kgc, []VerifyRequest{req})
	if err != nil {
		return Verdict{}, err
	}
	return out[0].Value, out[0].Err
}

// VerifyBatch is Verify for up to MaxBatch items, computed in parallel.
func (s *Service) VerifyBatch(ctx context.Context, tenant, kgc string, reqs []VerifyRequest) ([]kms.Result[Verdict], error) {
	if err := CheckBatch(len(reqs)); err != nil {
		return nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return parallel(reqs, func(q VerifyRequest) (Verdict, error) {
		der, t, _, err := s.keys.SM9MasterPublic(ctx, tenant, kgc, q.Version)
		if err != nil {
			return Verdict{}, err
		}
		if t != device.SM9SignMaster {
			return Verdict{}, fault.New(fault.KeyTypeMismatch, "key %q of type %s does not verify SM9 signatures", kgc, t)
		}
		if err := s.checkIdentity(q.ID); fault.CodeOf(err) == fault.IdentityExpired {
			return Verdict{Reason: fault.IdentityExpired}, nil
		} else if err != nil {
			return Verdict{}, err
		}
		if rev.has(q.ID) {
			return Verdict{Reason: fault.IdentityRevoked}, nil
		}
		pub, err := ParseSignMaster(der)
		if err != nil {
			return Verdict{}, fault.Wrap(err, fault.Internal, "the master public key does not parse")
		}
		hid := q.HID
		if hid == 0 {
			hid = device.SM9SignHID
		}
		return Verdict{Valid: VerifyWith(pub, []byte(q.ID), hid, q.Input, q.Signature)}, nil
	}), nil
}

// EncryptRequest encrypts Plaintext to identity ID.
type EncryptRequest struct {
	ID        string
	Plaintext []byte
	Mode      device.SM9Mode
	HID       byte // 0: device.SM9EncHID
}

// Encrypt encrypts to an identity with the master public key of kgc and
// returns the DER SM9Cipher.
func (s *Service) Encrypt(ctx context.Context, tenant, kgc string, req EncryptRequest) ([]byte, error) {
	out, err := s.EncryptBatch(ctx, tenant, kgc, []EncryptRequest{req})
	if err != nil {
		return nil, err
	}
	return out[0].Value, out[0].Err
}

// EncryptBatch is Encrypt for up to MaxBatch items, computed in parallel.
func (s *Service) EncryptBatch(ctx context.Context, tenant, kgc string, reqs []EncryptRequest) ([]kms.Result[[]byte], error) {
	if err := CheckBatch(len(reqs)); err != nil {
		return nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return parallel(reqs, func(q EncryptRequest) ([]byte, error) {
		pub, hid, err := s.encTarget(ctx, tenant, kgc, rev, q.ID, q.HID)
		if err != nil {
			return nil, err
		}
		if len(q.Plaintext) == 0 {
			return nil, fault.Invalid("SM9 encryption needs a non-empty plaintext")
		}
		if q.Mode != device.SM9XOR && q.Mode != device.SM9SM4CBC {
			return nil, fault.Invalid("mode must be xor or sm4-cbc")
		}
		ct, err := EncryptTo(s.rand, pub, []byte(q.ID), hid, q.Plaintext, q.Mode)
		if err != nil {
			return nil, fault.Wrap(err, fault.Internal, "SM9 encryption failed")
		}
		return ct, nil
	}), nil
}

// Encapsulate returns a fresh kLen-byte key for an identity and its
// encapsulation (the uncompressed point C).
func (s *Service) Encapsulate(ctx context.Context, tenant, kgc, id string, hid byte, kLen int) (key, c []byte, err error) {
	if kLen < 16 || kLen > 64 {
		return nil, nil, fault.Invalid("an encapsulated key is 16 to 64 bytes")
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, nil, err
	}
	pub, hid, err := s.encTarget(ctx, tenant, kgc, rev, id, hid)
	if err != nil {
		return nil, nil, err
	}
	key, c, err = Encapsulate(s.rand, pub, []byte(id), hid, kLen)
	if err != nil {
		return nil, nil, fault.Wrap(err, fault.Internal, "SM9 key encapsulation failed")
	}
	return key, c, nil
}

// encTarget returns the encryption master public key of kgc and the hid
// for an identity that is valid and not revoked.
func (s *Service) encTarget(ctx context.Context, tenant, kgc string, rev revocations, id string, hid byte) (*sm9.EncryptMasterPublicKey, byte, error) {
	der, t, _, err := s.keys.SM9MasterPublic(ctx, tenant, kgc, 0)
	if err != nil {
		return nil, 0, err
	}
	if t != device.SM9EncMaster {
		return nil, 0, fault.New(fault.KeyTypeMismatch, "key %q of type %s does not encrypt to identities", kgc, t)
	}
	if err := s.checkIdentity(id); err != nil {
		return nil, 0, err
	}
	if err := rev.check(id); err != nil {
		return nil, 0, err
	}
	pub, err := ParseEncMaster(der)
	if err != nil {
		return nil, 0, fault.Wrap(err, fault.Internal, "the master public key does not parse")
	}
	if hid == 0 {
		hid = device.SM9EncHID
	}
	return pub, hid, nil
}

// DecryptRequest decrypts a DER SM9Cipher with the hosted key of ID.
type DecryptRequest struct {
	ID         string
	Ciphertext []byte
	HID        byte // 0: device.SM9EncHID
}

// Decrypt decrypts with a hosted identity key; a ciphertext that does not
// decrypt is decrypt_failed, without detail.
func (s *Service) Decrypt(ctx context.Context, tenant, kgc string, req DecryptRequest) ([]byte, error) {
	out, err := s.DecryptBatch(ctx, tenant, kgc, []DecryptRequest{req})
	if err != nil {
		return nil, err
	}
	return out[0].Value, out[0].Err
}

// DecryptBatch is Decrypt for up to MaxBatch items, computed in parallel.
func (s *Service) DecryptBatch(ctx context.Context, tenant, kgc string, reqs []DecryptRequest) ([]kms.Result[[]byte], error) {
	if err := CheckBatch(len(reqs)); err != nil {
		return nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	return parallel(reqs, func(q DecryptRequest) ([]byte, error) {
		d, err := s.decrypter(ctx, tenant, kgc, rev, q.ID, q.HID)
		if err != nil {
			return nil, err
		}
		pt, err := d.Decrypt(ctx, []byte(q.ID), q.Ciphertext)
		return pt, decryptErr(err)
	}), nil
}

// Decapsulate opens a key encapsulation c with a hosted identity key.
func (s *Service) Decapsulate(ctx context.Context, tenant, kgc, id string, hid byte, c []byte, kLen int) ([]byte, error) {
	if kLen < 16 || kLen > 64 {
		return nil, fault.Invalid("an encapsulated key is 16 to 64 bytes")
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, err
	}
	d, err := s.decrypter(ctx, tenant, kgc, rev, id, hid)
	if err != nil {
		return nil, err
	}
	key, err := d.Decapsulate(ctx, []byte(id), c, kLen)
	return key, decryptErr(err)
}

// Exchange answers, as the hosted identity id, an SM9 key exchange that
// peer started with ra (GM/T 0044 part 3, responder steps B1-B7): it
// returns R_B, S_B for the peer to check, and the shared kLen-byte key.
func (s *Service) Exchange(ctx context.Context, tenant, kgc, id, peer string, ra []byte, kLen int) (rb, sb, key []byte, err error) {
	if kLen < 16 || kLen > 64 {
		return nil, nil, nil, fault.Invalid("an exchanged key is 16 to 64 bytes")
	}
	if err := s.checkIdentity(peer); err != nil {
		return nil, nil, nil, err
	}
	rev, err := s.revoked(ctx, tenant, kgc)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := s.decrypter(ctx, tenant, kgc, rev, id, device.SM9ExchangeHID)
	if err != nil {
		return nil, nil, nil, err
	}
	rb, sb, key, err = d.Respond(ctx, []byte(id), []byte(peer), ra, kLen)
	if err != nil {
		return nil, nil, nil, fault.Wrap(err, fault.InvalidArgument, "the key exchange point R_A is not a valid point")
	}
	return rb, sb, key, nil
}

func (s *Service) decrypter(ctx context.Context, tenant, kgc string, rev revocations, id string, hid byte) (device.SM9Decrypter, error) {
	k, err := s.hosted(ctx, tenant, kgc, rev, id, hid, device.SM9EncUser)
	if err != nil {
		return nil, err
	}
	return k.(device.SM9Decrypter), nil
}

func decryptErr(err error) error {
	if err == nil {
		return nil
	}
	return fault.Wrap(err, fault.DecryptFailed, "the ciphertext could not be decrypted")
}
