// Package sm9dev is a terminal's side of mima's SM9 identities, in pure Go
// and without a server: it opens the user key a KGC delivered to the
// terminal (SM2-encrypted to the terminal's SM2 key, or sealed under a
// one-time password), signs, decrypts, opens key encapsulations, runs the
// initiator's side of a key exchange, checks a KGC's signed revocation
// list, and, with an sdk.Client, answers a login challenge. The key never
// leaves the terminal.
package sm9dev

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm9"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// Function identifiers (hid) of GM/T 0044 part 5.
const (
	SignHID     byte = 0x01
	ExchangeHID byte = 0x02
	EncHID      byte = 0x03
)

// Key is an identity's SM9 user key: a signature key or an encryption key
// (which also decapsulates and exchanges keys), with the master public
// key of the KGC that extracted it.
type Key struct {
	id   string
	sign *sm9.SignPrivateKey
	enc  *sm9.EncryptPrivateKey
	rand io.Reader
}

// ErrKeyType is returned by an operation the key's type does not do (a
// signature key does not decrypt).
var ErrKeyType = errors.New("sm9dev: the key's type does not do this")

// Parse reads the delivered form of the user key of identity id: the DER
// SEQUENCE { privateKey BIT STRING, masterPublicKey BIT STRING } that
// docs/sm9.md describes.
func Parse(id string, der []byte) (*Key, error) {
	k := &Key{id: id, rand: rand.Reader}
	var err error
	if k.sign, _, err = device.ParseSM9User(device.SM9SignUser, der); err == nil {
		return k, nil
	}
	if _, k.enc, err = device.ParseSM9User(device.SM9EncUser, der); err == nil {
		return k, nil
	}
	return nil, errors.New("sm9dev: not an SM9 user key (SEQUENCE of the private point and the master public key)")
}

// OpenEnvelope opens the envelope of an extraction delivered to the
// terminal's SM2 key (GM/T 0009 ASN.1 ciphertext).
func OpenEnvelope(id string, envelope []byte, terminal *sm2.PrivateKey) (*Key, error) {
	der, err := sm2.Decrypt(terminal, envelope)
	if err != nil {
		return nil, fmt.Errorf("sm9dev: the envelope does not open with this SM2 key: %w", err)
	}
	defer clear(der)
	return Parse(id, der)
}

// OpenSealed opens an extraction sealed under a one-time password (the
// backup format of docs/keys.md).
func OpenSealed(id string, sealed, password []byte) (*Key, error) {
	der, err := kms.OpenSealed(sealed, password)
	if err != nil {
		return nil, fmt.Errorf("sm9dev: the sealed key does not open with this password: %w", err)
	}
	defer clear(der)
	return Parse(id, der)
}

// Marshal returns the key in the form Parse reads, for the terminal to
// keep.
func (k *Key) Marshal() ([]byte, error) {
	var priv, master []byte
	if k.sign != nil {
		priv, master = k.sign.Bytes(), k.sign.MasterPublic().Bytes()
	} else {
		priv, master = k.enc.Bytes(), k.enc.MasterPublic().Bytes()
	}
	return asn1.Marshal(struct{ Private, Master asn1.BitString }{bits(priv), bits(master)})
}

func bits(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }

// ID returns the identity the key belongs to.
func (k *Key) ID() string { return k.id }

// Sign signs msg and returns the DER SM9Signature.
func (k *Key) Sign(msg []byte) ([]byte, error) {
	if k.sign == nil {
		return nil, fmt.Errorf("%w: an encryption key does not sign", ErrKeyType)
	}
	return sm9.SignASN1(k.rand, k.sign, msg)
}

// Decrypt decrypts a DER SM9Cipher made for the identity.
func (k *Key) Decrypt(ciphertext []byte) ([]byte, error) {
	if k.enc == nil {
		return nil, fmt.Errorf("%w: a signature key does not decrypt", ErrKeyType)
	}
	return sm9.DecryptASN1(k.enc, []byte(k.id), ciphertext)
}

// Decapsulate returns the n-byte key encapsulated in c, the uncompressed
// point of an encapsulation to the identity.
func (k *Key) Decapsulate(c []byte, n int) ([]byte, error) {
	if k.enc == nil {
		return nil, fmt.Errorf("%w: a signature key does not decapsulate", ErrKeyType)
	}
	return sm9.UnwrapKey(k.enc, []byte(k.id), c, n)
}

// Login answers a login challenge of tenant with the key (a signature key
// of KGC kgc) and returns the token that the tenant's SM9 login rule
// gives.
func (k *Key) Login(ctx context.Context, c *sdk.Client, tenant, kgc string) (sdk.LoginResult, error) {
	ch, err := c.Auth().LoginChallenge(ctx, tenant)
	if err != nil {
		return sdk.LoginResult{}, err
	}
	sig, err := k.Sign(ch.Nonce)
	if err != nil {
		return sdk.LoginResult{}, err
	}
	return c.Auth().Login(ctx, sdk.LoginRequest{Tenant: tenant, ChallengeID: ch.ID, Signature: sig, SM9: &sdk.SM9Login{KGC: kgc, ID: k.id}})
}

// Exchange is the initiator's side of one SM9 key exchange (GM/T 0044
// part 3).
type Exchange struct {
	ke interface {
		ConfirmResponder(rb, sb []byte) ([]byte, []byte, error)
		Destroy()
	}
}

// StartExchange starts a key exchange of n bytes with identity responder
// (of the same encryption KGC; for a hosted identity, the responder is
// POST /v1/keys/{kgc}/sm9/exchange): the key must be the terminal's key
// of hid ExchangeHID. It returns R_A, for the responder.
func (k *Key) StartExchange(responder string, n int) (*Exchange, []byte, error) {
	if k.enc == nil {
		return nil, nil, fmt.Errorf("%w: a signature key does not exchange keys", ErrKeyType)
	}
	ke := k.enc.NewKeyExchange([]byte(k.id), []byte(responder), n, true)
	ra, err := ke.InitKeyExchange(k.rand, ExchangeHID)
	if err != nil {
		ke.Destroy()
		return nil, nil, fmt.Errorf("sm9dev: key exchange: %w", err)
	}
	return &Exchange{ke: ke}, ra, nil
}

// Finish checks the responder's R_B and confirmation S_B and returns the
// shared key. An Exchange finishes once.
func (x *Exchange) Finish(rb, sb []byte) ([]byte, error) {
	defer x.ke.Destroy()
	key, _, err := x.ke.ConfirmResponder(rb, sb)
	if err != nil {
		return nil, fmt.Errorf("sm9dev: the responder's confirmation does not check: %w", err)
	}
	return key, nil
}

// RevocationList is the content of a KGC's revocation list.
type RevocationList struct {
	Tenant        string   `json:"tenant"`
	KGC           string   `json:"kgc"`
	MasterVersion int      `json:"master_version"`
	Serial        uint64   `json:"serial"`
	Revoked       []string `json:"revoked"`
}

// ListSigner is the identity that signs revocation lists; the KGC
// extracts its key for nobody else.
const ListSigner = "mima:revocation-list"

// CheckList checks that a signature KGC's revocation list is signed by
// ListSigner under the master public key the key carries (any other
// signer is refused: every terminal holds a key of the same KGC), and
// returns its content.
func (k *Key) CheckList(l sdk.SM9RevocationList) (RevocationList, error) {
	if k.sign == nil {
		return RevocationList{}, fmt.Errorf("%w: an encryption key carries no signature master key", ErrKeyType)
	}
	if l.Signer != ListSigner || len(l.Signature) == 0 || !sm9.VerifyASN1(k.sign.MasterPublic(), []byte(l.Signer), SignHID, l.Body, l.Signature) {
		return RevocationList{}, errors.New("sm9dev: the revocation list's signature does not verify with the master public key")
	}
	var out RevocationList
	if err := json.Unmarshal(l.Body, &out); err != nil {
		return RevocationList{}, fmt.Errorf("sm9dev: the revocation list: %w", err)
	}
	return out, nil
}
