package kms

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gmcipher "github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

func mustParams(t *testing.T, s *Service, tenant, key string) ImportParams {
	t.Helper()
	p, err := s.ImportParams(ctx, tenant, key)
	if err != nil {
		t.Fatalf("import params for %s/%s: %v", tenant, key, err)
	}
	return p
}

func wrappingKey(t *testing.T, p ImportParams) *ecdsa.PublicKey {
	t.Helper()
	return parsePublicKeyPEM(t, p.PublicKey)
}

// wrapRaw wraps sm4 or hmac-sm3 material for p (SM2 encryption, ASN.1).
func wrapRaw(t *testing.T, p ImportParams, raw []byte) []byte {
	t.Helper()
	w, err := sm2.EncryptASN1(rand.Reader, wrappingKey(t, p), raw)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// wrapSM2 wraps an SM2 private key for p (GB/T 35276 enveloped key).
func wrapSM2(t *testing.T, p ImportParams, priv *sm2.PrivateKey) []byte {
	t.Helper()
	w, err := sm2.MarshalEnvelopedPrivateKey(rand.Reader, wrappingKey(t, p), priv)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newSM2Key(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sm4GCM returns SM4-GCM under key, as an application would use it.
func sm4GCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	block, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm
}

// localSeal encrypts as the package documentation describes:
// nonce (12) || SM4-GCM ciphertext || tag.
func localSeal(t *testing.T, key, plaintext, aad []byte) []byte {
	t.Helper()
	nonce := randomBytes(t, 12)
	return sm4GCM(t, key).Seal(nonce, nonce, plaintext, aad)
}

func localOpen(t *testing.T, key, payload, aad []byte) ([]byte, error) {
	t.Helper()
	return sm4GCM(t, key).Open(nil, payload[:12], payload[12:], aad)
}

// payloadOf returns the version and payload of a ciphertext string.
func payloadOf(t *testing.T, ct string) (int, []byte) {
	t.Helper()
	v, payload, ok := parseCiphertext(ct)
	if !ok {
		t.Fatalf("malformed ciphertext %q", ct)
	}
	return v, payload
}

// provesMaterial checks that version v of key works exactly like material
// (raw sm4 or hmac-sm3 bytes, or the 32-byte SM2 scalar) used locally, in
// both directions.
func provesMaterial(t *testing.T, s *Service, tenant, key string, typ device.KeyType, v int, material []byte) {
	t.Helper()
	msg := []byte("proof of version " + fmt.Sprint(v))
	switch typ {
	case device.SM4:
		local := formatCiphertext(v, localSeal(t, material, msg, []byte("aad")))
		if pt, err := s.Decrypt(ctx, tenant, key, DecryptRequest{Ciphertext: local, AAD: []byte("aad")}); err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("service decrypts the local ciphertext of version %d: %q, %v", v, pt, err)
		}
		ct := mustEncrypt(t, s, tenant, key, EncryptRequest{Plaintext: msg, Version: v})
		gotV, payload := payloadOf(t, ct)
		if pt, err := localOpen(t, material, payload, nil); gotV != v || err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("local decryption of the service's version %d ciphertext (v%d): %q, %v", v, gotV, pt, err)
		}
	case device.HMACSM3:
		m, err := s.MAC(ctx, tenant, key, MACRequest{Input: msg, Version: v})
		want := hmac.New(sm3.New, material)
		want.Write(msg)
		if err != nil || m.Version != v || !hmac.Equal(m.MAC, want.Sum(nil)) {
			t.Fatalf("MAC of version %d = %x (v%d), %v; want %x", v, m.MAC, m.Version, err, want.Sum(nil))
		}
	case device.SM2:
		priv, err := sm2.NewPrivateKey(material)
		if err != nil {
			t.Fatal(err)
		}
		pk, err := s.PublicKey(ctx, tenant, key, v)
		if err != nil || !sm2Public(t, pk.Key).Equal(&priv.PublicKey) {
			t.Fatalf("public key of version %d does not match the material: %v", v, err)
		}
		sig, err := s.Sign(ctx, tenant, key, SignRequest{Input: msg, Version: v})
		if err != nil || sig.Version != v || !sm2.VerifyASN1WithSM2(&priv.PublicKey, nil, msg, sig.Signature) {
			t.Fatalf("signature of version %d does not verify locally: %v", v, err)
		}
		localSig, err := priv.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Verify(ctx, tenant, key, VerifyRequest{Input: msg, Signature: localSig, Version: v}); err != nil || !got.Valid {
			t.Fatalf("service does not verify a local signature for version %d: %v", v, err)
		}
		localCT, err := sm2.EncryptASN1(rand.Reader, &priv.PublicKey, msg)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.Decrypt(ctx, tenant, key, DecryptRequest{Ciphertext: formatCiphertext(v, localCT)}); err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("service decrypts a local SM2 ciphertext for version %d: %q, %v", v, pt, err)
		}
		_, payload := payloadOf(t, mustEncrypt(t, s, tenant, key, EncryptRequest{Plaintext: msg, Version: v}))
		if pt, err := sm2.Decrypt(priv, payload); err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("local decryption of the service's version %d SM2 ciphertext: %q, %v", v, pt, err)
		}
	default:
		t.Fatalf("no proof for type %s", typ)
	}
}

func TestImportParams(t *testing.T) {
	s, st, c := newTestService(t)
	mustCreate(t, s, "acme", "byok", device.SM4)
	if _, err := s.CreateAlias(ctx, "acme", AliasPrefix+"b", "byok"); err != nil {
		t.Fatal(err)
	}
	p := mustParams(t, s, "acme", AliasPrefix+"b")
	if !validToken(p.Token) || p.Key != "byok" || p.Type != device.SM4 || !p.ExpiresAt.Equal(c.Now().Add(24*time.Hour)) {
		t.Fatalf("ImportParams = %+v", p)
	}
	wrappingKey(t, p) // an SM2 SubjectPublicKeyInfo
	for _, path := range []string{importPath("acme", p.Token), duePath(dueImport, p.ExpiresAt, "acme", p.Token)} {
		if _, err := st.Get(ctx, path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	q := mustParams(t, s, "acme", "byok")
	if q.Token == p.Token || q.PublicKey == p.PublicKey {
		t.Fatal("two import parameters share a token or a wrapping key")
	}
}

func TestImportParamsRejects(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "doomed", device.SM4)
	if _, err := s.ScheduleDeletion(ctx, "acme", "doomed", 7); err != nil {
		t.Fatal(err)
	}
	sealed, _, _ := newTestService(t)
	sealed.Sealed()
	for _, tc := range []struct {
		name        string
		s           *Service
		tenant, key string
		code        fault.Code
	}{
		{"absent key", s, "acme", "nope", fault.KeyNotFound},
		{"pending deletion", s, "acme", "doomed", fault.KeyPendingDeletion},
		{"invalid tenant", s, "a/b", "doomed", fault.InvalidArgument},
		{"invalid name", s, "acme", "a b", fault.InvalidArgument},
		{"sealed", sealed, "acme", "doomed", fault.Sealed},
	} {
		_, err := tc.s.ImportParams(ctx, tc.tenant, tc.key)
		wantCode(t, tc.name, err, tc.code)
	}
}

// TestImportEachType imports material of every type as a new version and
// checks that it works like generated material, including through a
// cached key.
func TestImportEachType(t *testing.T) {
	sm2Key := newSM2Key(t)
	for _, tc := range []struct {
		name     string
		typ      device.KeyType
		material []byte
		wrap     func(*testing.T, ImportParams) []byte
	}{
		{name: "sm4", typ: device.SM4, material: randomBytes(t, 16)},
		{name: "hmac-sm3 shortest", typ: device.HMACSM3, material: randomBytes(t, 16)},
		{name: "hmac-sm3 longest", typ: device.HMACSM3, material: randomBytes(t, 64)},
		{name: "sm2", typ: device.SM2, material: sm2Key.D.FillBytes(make([]byte, 32)),
			wrap: func(t *testing.T, p ImportParams) []byte { return wrapSM2(t, p, sm2Key) }},
		{name: "sm4 wrapped as c1c3c2", typ: device.SM4, material: randomBytes(t, 16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st, c := newTestService(t)
			mustCreate(t, s, "acme", "byok", tc.typ)
			provesMaterial(t, s, "acme", "byok", tc.typ, 1, rawMaterial(t, st, "acme", "byok", 1)) // cached now
			p := mustParams(t, s, "acme", "byok")
			var wrapped []byte
			switch {
			case tc.wrap != nil:
				wrapped = tc.wrap(t, p)
			case strings.HasSuffix(tc.name, "c1c3c2"):
				w, err := sm2.Encrypt(rand.Reader, wrappingKey(t, p), tc.material, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
				if err != nil {
					t.Fatal(err)
				}
				wrapped = w
			default:
				wrapped = wrapRaw(t, p, tc.material)
			}
			at := c.Advance(time.Hour)
			ki, err := s.Import(ctx, "acme", "byok", ImportRequest{Token: p.Token, WrappedMaterial: wrapped})
			if err != nil {
				t.Fatal(err)
			}
			if ki.LatestVersion != 2 || ki.Versions[0].Imported || !ki.Versions[1].Imported ||
				!ki.Versions[1].CreatedAt.Equal(at) || !ki.UpdatedAt.Equal(at) {
				t.Fatalf("after import: %+v", ki)
			}
			if got := rawMaterial(t, st, "acme", "byok", 2); !bytes.Equal(got, tc.material) {
				t.Fatalf("stored material %x, imported %x", got, tc.material)
			}
			provesMaterial(t, s, "acme", "byok", tc.typ, 2, tc.material)
			if tc.typ != device.HMACSM3 {
				// Version 0 is the imported one: the cached key was dropped.
				if v, _ := payloadOf(t, mustEncrypt(t, s, "acme", "byok", EncryptRequest{Plaintext: []byte("x")})); v != 2 {
					t.Fatalf("latest version used is %d, want 2", v)
				}
			}
			if _, err := st.Get(ctx, importPath("acme", p.Token)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("the used token is still stored: %v", err)
			}
			_, err = s.Import(ctx, "acme", "byok", ImportRequest{Token: p.Token, WrappedMaterial: wrapped})
			wantCode(t, "second use of a token", err, fault.ImportTokenInvalid)
		})
	}
}

// envelope builds an SM2EnvelopedKey from its parts: the SM4-ECB
// encryption of scalar (taken as is when not whole blocks), with the SM4
// key encrypted to wrapTo, and the public point pairPub.
func envelope(t *testing.T, wrapTo *ecdsa.PublicKey, scalar, pairPub []byte) []byte {
	t.Helper()
	key := randomBytes(t, 16)
	enc := bytes.Clone(scalar)
	if len(scalar)%16 == 0 {
		block, err := sm4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		gmcipher.NewECBEncrypter(block).CryptBlocks(enc, scalar)
	}
	encKey, err := sm2.EncryptASN1(rand.Reader, wrapTo, key)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		Alg     pkix.AlgorithmIdentifier
		Key     asn1.RawValue
		Pub     asn1.BitString
		EncPriv asn1.BitString
	}{
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 104, 1}, Parameters: asn1.NullRawValue},
		asn1.RawValue{FullBytes: encKey},
		asn1.BitString{Bytes: pairPub, BitLength: 8 * len(pairPub)},
		asn1.BitString{Bytes: enc, BitLength: 8 * len(enc)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// uncompressed encodes a key the test made, so on the curve: an error is
// a broken test.
func uncompressed(pub *ecdsa.PublicKey) []byte {
	point, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		panic(err)
	}
	return point.Bytes()
}

func TestImportRejectsMaterial(t *testing.T) {
	s, st, _ := newTestService(t)
	for _, typ := range []device.KeyType{device.SM4, device.HMACSM3, device.SM2} {
		mustCreate(t, s, "acme", string(typ), typ)
	}
	pair := newSM2Key(t)
	other := newSM2Key(t)
	n := sm2.P256().Params().N
	scalar := func(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }
	secret := randomBytes(t, 15)
	for _, tc := range []struct {
		name string
		key  device.KeyType
		wrap func(p ImportParams) []byte
		msg  string // in the error message
	}{
		{"sm4 short", device.SM4, func(p ImportParams) []byte { return wrapRaw(t, p, secret) }, "exactly 16 bytes"},
		{"sm4 long", device.SM4, func(p ImportParams) []byte { return wrapRaw(t, p, randomBytes(t, 17)) }, "exactly 16 bytes"},
		{"hmac short", device.HMACSM3, func(p ImportParams) []byte { return wrapRaw(t, p, secret) }, "16 to 64 bytes"},
		{"hmac long", device.HMACSM3, func(p ImportParams) []byte { return wrapRaw(t, p, randomBytes(t, 65)) }, "16 to 64 bytes"},
		{"sm4 for another wrapping key", device.SM4, func(ImportParams) []byte {
			w, _ := sm2.EncryptASN1(rand.Reader, &other.PublicKey, randomBytes(t, 16))
			return w
		}, "could not be unwrapped"},
		{"sm4 garbage", device.SM4, func(ImportParams) []byte { return []byte("not a ciphertext at all, clearly") }, "could not be unwrapped"},
		{"sm4 empty", device.SM4, func(ImportParams) []byte { return nil }, "could not be unwrapped"},
		{"sm4 tampered", device.SM4, func(p ImportParams) []byte {
			w := wrapRaw(t, p, randomBytes(t, 16))
			w[len(w)-1] ^= 1
			return w
		}, "could not be unwrapped"},
		{"sm2 raw scalar instead of envelope", device.SM2, func(p ImportParams) []byte { return wrapRaw(t, p, scalar(pair.D)) }, "SM2EnvelopedKey"},
		{"sm2 garbage", device.SM2, func(ImportParams) []byte { return []byte{0x30, 0x03, 0x02, 0x01, 0x01} }, "SM2EnvelopedKey"},
		{"sm2 trailing data", device.SM2, func(p ImportParams) []byte { return append(wrapSM2(t, p, pair), 0) }, "SM2EnvelopedKey"},
		{"sm2 encrypted key of 31 bytes", device.SM2, func(p ImportParams) []byte {
			return envelope(t, wrappingKey(t, p), randomBytes(t, 31), uncompressed(&pair.PublicKey))
		}, "SM2EnvelopedKey"},
		{"sm2 padded to 48 bytes", device.SM2, func(p ImportParams) []byte {
			return envelope(t, wrappingKey(t, p), append(scalar(pair.D), bytes.Repeat([]byte{16}, 16)...), uncompressed(&pair.PublicKey))
		}, "SM2EnvelopedKey"},
		{"sm2 with SM4-CBC", device.SM2, func(p ImportParams) []byte {
			ecb := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x01}
			cbc := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x02}
			return bytes.Replace(wrapSM2(t, p, pair), ecb, cbc, 1)
		}, "SM4 or SM4-ECB"},
		{"sm2 for another wrapping key", device.SM2, func(ImportParams) []byte {
			w, _ := sm2.MarshalEnvelopedPrivateKey(rand.Reader, &other.PublicKey, pair)
			return w
		}, "could not be unwrapped"},
		{"sm2 zero scalar", device.SM2, func(p ImportParams) []byte {
			return envelope(t, wrappingKey(t, p), make([]byte, 32), uncompressed(&pair.PublicKey))
		}, "[1, n-2]"},
		{"sm2 scalar n-1", device.SM2, func(p ImportParams) []byte {
			return envelope(t, wrappingKey(t, p), scalar(new(big.Int).Sub(n, big.NewInt(1))), uncompressed(&pair.PublicKey))
		}, "[1, n-2]"},
		{"sm2 public key of another pair", device.SM2, func(p ImportParams) []byte {
			return envelope(t, wrappingKey(t, p), scalar(pair.D), uncompressed(&other.PublicKey))
		}, "matching the envelope's public key"},
	} {
		p := mustParams(t, s, "acme", string(tc.key))
		_, err := s.Import(ctx, "acme", string(tc.key), ImportRequest{Token: p.Token, WrappedMaterial: tc.wrap(p)})
		wantCode(t, tc.name, err, fault.ImportFailed)
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: message %q does not say %q", tc.name, err, tc.msg)
		}
		if strings.Contains(err.Error(), hex.EncodeToString(secret)) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(secret)) {
			t.Errorf("%s: the message shows the material: %v", tc.name, err)
		}
		if _, err := st.Get(ctx, importPath("acme", p.Token)); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: a failed unwrap left the token usable: %v", tc.name, err)
		}
		if ki, _ := s.Get(ctx, "acme", string(tc.key)); ki.LatestVersion != 1 {
			t.Errorf("%s: a failed import added a version", tc.name)
		}
	}
}

func TestImportRejectsToken(t *testing.T) {
	s, st, c := newTestService(t)
	mustCreate(t, s, "acme", "k1", device.SM4)
	mustCreate(t, s, "acme", "k2", device.SM4)
	mustCreate(t, s, "other", "k1", device.SM4)
	material := randomBytes(t, 16)
	p := mustParams(t, s, "acme", "k1")
	wrapped := wrapRaw(t, p, material)
	for _, tc := range []struct {
		name, tenant, key, token string
		code                     fault.Code
	}{
		{"malformed", "acme", "k1", "not-a-token", fault.ImportTokenInvalid},
		{"upper case", "acme", "k1", strings.ToUpper(p.Token), fault.ImportTokenInvalid},
		{"path", "acme", "k1", "../keys/k1", fault.ImportTokenInvalid},
		{"unknown", "acme", "k1", strings.Repeat("0", 32), fault.ImportTokenInvalid},
		{"another key", "acme", "k2", p.Token, fault.ImportTokenInvalid},
		{"another tenant", "other", "k1", p.Token, fault.ImportTokenInvalid},
		{"absent key", "acme", "nope", p.Token, fault.KeyNotFound},
		{"invalid tenant", "a/b", "k1", p.Token, fault.InvalidArgument},
	} {
		_, err := s.Import(ctx, tc.tenant, tc.key, ImportRequest{Token: tc.token, WrappedMaterial: wrapped})
		wantCode(t, tc.name, err, tc.code)
	}
	// A token not unwrapped with is not used up: it still imports.
	if _, err := s.ScheduleDeletion(ctx, "acme", "k1", 7); err != nil {
		t.Fatal(err)
	}
	_, err := s.Import(ctx, "acme", "k1", ImportRequest{Token: p.Token, WrappedMaterial: wrapped})
	wantCode(t, "pending deletion", err, fault.KeyPendingDeletion)
	if _, err := s.CancelDeletion(ctx, "acme", "k1"); err != nil {
		t.Fatal(err)
	}
	if ki, err := s.Import(ctx, "acme", "k1", ImportRequest{Token: p.Token, WrappedMaterial: wrapped}); err != nil || ki.LatestVersion != 2 {
		t.Fatalf("import after refusals: %+v, %v", ki, err)
	}

	// An expired token is refused and used up.
	q := mustParams(t, s, "acme", "k2")
	c.Advance(ImportTokenTTL)
	_, err = s.Import(ctx, "acme", "k2", ImportRequest{Token: q.Token, WrappedMaterial: wrapRaw(t, q, material)})
	wantCode(t, "expired", err, fault.ImportTokenInvalid)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	for _, path := range []string{importPath("acme", q.Token), duePath(dueImport, q.ExpiresAt, "acme", q.Token)} {
		if _, err := st.Get(ctx, path); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("expired token left %s: %v", path, err)
		}
	}

	s.Sealed()
	_, err = s.Import(ctx, "acme", "k2", ImportRequest{Token: q.Token})
	wantCode(t, "sealed", err, fault.Sealed)
}

func TestRunJobsDeletesExpiredImportTokens(t *testing.T) {
	s, st, c := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	used := mustParams(t, s, "acme", "k")
	unused := mustParams(t, s, "acme", "k")
	if _, err := s.Import(ctx, "acme", "k", ImportRequest{Token: used.Token, WrappedMaterial: wrapRaw(t, used, randomBytes(t, 16))}); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, c.Now().Add(ImportTokenTTL-time.Second), JobReport{})
	runJobs(t, s, c.Now().Add(ImportTokenTTL), JobReport{ImportTokensExpired: 1})
	if _, err := st.Get(ctx, importPath("acme", unused.Token)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("expired token still stored: %v", err)
	}
	runJobs(t, s, c.Now().Add(2*ImportTokenTTL), JobReport{})
}

// refusingDevice is the Software device that can be told to refuse to
// unwrap material.
type refusingDevice struct {
	device.Device
	refuse atomic.Bool
}

func (d *refusingDevice) Unwrap(ctx context.Context, wk device.Key, t device.KeyType, wrapped []byte) ([]byte, error) {
	if d.refuse.Load() {
		return nil, errors.New("refused")
	}
	return d.Device.Unwrap(ctx, wk, t, wrapped)
}

func TestImportDeviceRefuses(t *testing.T) {
	dev := &refusingDevice{Device: sharedDevice}
	s := New(dev)
	if err := s.Unsealed(ctx, &countingStore{Backend: inmem.New()}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "acme", "k", device.SM4)
	p := mustParams(t, s, "acme", "k")
	dev.refuse.Store(true)
	_, err := s.Import(ctx, "acme", "k", ImportRequest{Token: p.Token, WrappedMaterial: wrapRaw(t, p, randomBytes(t, 16))})
	wantCode(t, "device refuses", err, fault.ImportFailed)
	dev.refuse.Store(false)
	if ki, err := s.Get(ctx, "acme", "k"); err != nil || ki.LatestVersion != 1 {
		t.Fatalf("after a refused import: %+v, %v", ki, err)
	}
}
