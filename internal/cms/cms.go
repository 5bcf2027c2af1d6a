// Package cms is mima's service for signatures that hold up later: CMS
// (PKCS#7) signed data and digital envelopes with SM2, SM3 and SM4 (GM/T
// 0010, RFC 5652), an RFC 3161 timestamp authority, and login by
// certificate. It knows nothing of HTTP.
//
// Private keys stay in the key service: signing keys sign through the
// crypto.Signer and envelope keys decrypt through the crypto.Decrypter
// that the Keys the Service is given return (kms.Service in mima).
// Certificates, chains, CRLs and OCSP answers come from its CA
// (pki.Service in mima), in process.
//
// # Formats
//
// Signed data is made with the OIDs of GM/T 0010 by default: ContentInfo
// type 1.2.156.10197.6.1.4.2.2, encapsulated content type (data)
// 1.2.156.10197.6.1.4.2.1, SignerInfo signature algorithm "sm2-1"
// 1.2.156.10197.1.301.1, digest algorithm SM3 1.2.156.10197.1.401, both
// with NULL parameters, as gmsm writes them. With RFC5652 set, it uses
// id-signedData 1.2.840.113549.1.7.2, id-data 1.2.840.113549.1.7.1 and
// sm2-with-sm3 1.2.156.10197.1.501 without parameters, which is what
// BouncyCastle 1.72 recognises. Verification accepts either set, the SM2
// key OID 1.2.156.10197.1.301 as signature algorithm too, BER as well as
// DER, and signers named by issuer and serial number or by subject key
// identifier. Every SignerInfo is version 1, names its signer by issuer
// and serial number and signs the signed attributes content-type,
// message-digest and signing-time (RFC 5652 section 11) with SM2 over SM3
// under the identity "1234567812345678".
//
// Signed-and-enveloped data is made by nesting, not with GM/T 0010's
// signedAndEnvelopedData type (which RFC 5652 dropped and which signs the
// plaintext digest under the content key): Sign, then Encrypt the
// ContentInfo it returns; Decrypt, then Verify.
//
// Digital envelopes follow GM/T 0010 as gmsm's EncryptSM does: ContentInfo
// type 1.2.156.10197.6.1.4.2.3, EnvelopedData and RecipientInfo version 1,
// recipients by issuer and serial number, the 16-byte SM4 content key
// encrypted with "sm2-3" 1.2.156.10197.1.301.3 in GM/T 0009 ASN.1 form,
// content SM4-CBC 1.2.156.10197.1.104.2 with a random IV and PKCS#7
// padding; with RFC5652 set, id-envelopedData and id-data with version 0.
//
// Timestamps follow RFC 3161 and RFC 5816 with SM2 and SM3; see Timestamp.
//
// # Why not gmsm's pkcs7
//
// gmsm's pkcs7 (v0.44.0) reads BER and signs and decrypts through
// crypto.Signer and crypto.Decrypter, but it cannot do what verification
// here needs: it finds a signer by issuer and serial number only, so a
// SignerInfo naming its signer by subject key identifier (RFC 5652 section
// 5.3) does not verify; it checks a chain against a CertPool with no CRL
// or OCSP and stops at the first failing signer, where Verify reports
// every signer with its chain and revocation status from pki. RFC 3161
// timestamps (TSTInfo, the ESS signing-certificate-v2 attribute, a
// timestamp token as a signature's unsigned attribute) are not in it at
// all. The making side (Sign, Encrypt) could use pkcs7; it stays on the
// same encoder as the rest so that one code path writes both OID sets and
// the BouncyCastle and OpenSSL interop tests cover it.
//
// # Storage
//
// Records are kept in the storage.Backend handed over at unseal (the
// barrier), in JSON unless noted, under
//
//	t/<tenant>/cms/tsas/<tsa>           timestamp authority (see TSA)
//	t/<tenant>/cms/tsa-serials/<tsa>    the last serial number the TSA
//	                                    issued, decimal text
//	t/<tenant>/cms/login-rules/<rule>   login rule (see LoginRule)
//
// Login challenges live in memory only; see Challenge.
package cms

import (
	"context"
	"crypto"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/mimacrypto/mima/internal/cache"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

// DefaultChallengeTTL is how long a login challenge may be answered.
const DefaultChallengeTTL = 2 * time.Minute

// Keys is what the CMS service needs of a key service: it creates and
// schedules the deletion of TSA keys, reads a key's metadata, and signs
// and decrypts with a key through crypto.Signer and crypto.Decrypter.
// *kms.Service implements it.
type Keys interface {
	Create(ctx context.Context, tenant string, req kms.CreateRequest) (kms.KeyInfo, error)
	Get(ctx context.Context, tenant, ref string) (kms.KeyInfo, error)
	Signer(ctx context.Context, tenant, ref string) (crypto.Signer, error)
	Decrypter(ctx context.Context, tenant, ref string) (crypto.Decrypter, error)
	ScheduleDeletion(ctx context.Context, tenant, ref string, days int) (kms.KeyInfo, error)
}

// CA is what the CMS service needs of a certificate authority: the CAs
// and chains it trusts, certificates and their revocation state, and the
// certificates of TSA keys. *pki.Service implements it.
type CA interface {
	GetCA(ctx context.Context, tenant, ca string) (pki.CA, error)
	ListCAs(ctx context.Context, tenant string) ([]pki.CA, error)
	Chain(ctx context.Context, tenant, ca string) (string, error)
	GetCertificate(ctx context.Context, tenant, serial string) (pki.Certificate, error)
	CertificateForKey(ctx context.Context, tenant, key string) (pki.Certificate, error)
	CRL(ctx context.Context, tenant, ca string) ([]byte, error)
	RespondOCSP(ctx context.Context, tenant, ca string, requestDER []byte) ([]byte, error)
	Issue(ctx context.Context, tenant, ca string, req pki.IssueRequest) (pki.Certificate, error)
	Revoke(ctx context.Context, tenant, serial string, reason pki.Reason) (pki.Certificate, error)
	GetProfile(ctx context.Context, tenant, ca, name string) (pki.Profile, error)
	SetProfile(ctx context.Context, tenant, ca string, p pki.Profile) (pki.Profile, error)
}

var (
	_ Keys = (*kms.Service)(nil)
	_ CA   = (*pki.Service)(nil)
)

// Service is the CMS, timestamp and certificate login service. It is safe
// for concurrent use. It implements sealstate.Component: it serves requests
// only between Unsealed and Sealed, and relies on the key service and the
// certificate authority being unsealed too.
type Service struct {
	keys         Keys
	ca           CA
	rand         io.Reader
	now          func() time.Time
	challengeTTL time.Duration
	cacheSize    int

	store storage.Slot // empty while sealed; purges the caches and challenges
	tsas  *cache.Cache[paths.TSA, *tsaState]
	// serialMs holds a *sync.Mutex per TSA serial counter path, which
	// this node's callers of that TSA take in turn (see nextSerial).
	serialMs   sync.Map
	challenges challenges
}

// Option configures a Service.
type Option func(*Service)

// WithRand sets the randomness for content keys, IVs, SM2 encryption,
// nonces, key names and login challenges; by default crypto/rand.Reader.
// Signatures draw theirs from the key service.
func WithRand(r io.Reader) Option { return func(s *Service) { s.rand = r } }

// WithClock sets the clock for signing times, timestamps, verification
// and challenge expiry.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithChallengeTTL sets how long a login challenge lives; d <= 0 means
// DefaultChallengeTTL.
func WithChallengeTTL(d time.Duration) Option { return func(s *Service) { s.challengeTTL = d } }

// WithChallengesPerTenant bounds the login challenges that may wait for
// an answer in one tenant; n <= 0 means DefaultChallengesPerTenant.
func WithChallengesPerTenant(n int) Option { return func(s *Service) { s.challenges.limit = n } }

// WithCacheSize bounds the number of cached TSAs; n < 1 means
// cache.DefaultSize.
func WithCacheSize(n int) Option { return func(s *Service) { s.cacheSize = n } }

// New returns a sealed Service whose keys live in keys and whose
// certificates come from ca.
func New(keys Keys, ca CA, opts ...Option) *Service {
	s := &Service{
		keys: keys, ca: ca, rand: rand.Reader, now: time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.challengeTTL <= 0 {
		s.challengeTTL = DefaultChallengeTTL
	}
	if s.challenges.limit <= 0 {
		s.challenges.limit = DefaultChallengesPerTenant
	}
	s.challenges.tenant = map[string]*tenantChallenges{}
	if s.cacheSize < 1 {
		s.cacheSize = cache.DefaultSize
	}
	s.tsas = cache.New[paths.TSA, *tsaState](s.cacheSize, paths.ParseTSA)
	s.store.Purges(s.tsas, &s.challenges)
	return s
}

// Unsealed starts serving with store (the barrier) as the record store.
func (s *Service) Unsealed(ctx context.Context, store storage.Backend) error {
	return s.store.Unsealed(ctx, store)
}

// Sealed stops serving and drops every cached TSA and pending challenge.
// Requests fail with fault code "sealed" until the next Unsealed.
func (s *Service) Sealed() { s.store.Sealed() }

// clock returns the current time in UTC.
func (s *Service) clock() time.Time { return s.now().UTC() }
