package pki

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"hash"
	"math/big"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// Limits on OCSP requests.
const (
	maxOCSPRequest = 16 << 10
	maxOCSPCerts   = 100
	maxNonce       = 32 // RFC 8954 section 2.1
)

// oidOCSPNonce is the nonce extension (RFC 8954).
var oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// ocspHashes are the hash algorithms of a CertID that RespondOCSP
// recognises: SHA-1 (the usual), SHA-256 and SM3.
var ocspHashes = []struct {
	oid asn1.ObjectIdentifier
	new func() hash.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, sha1.New},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, sha256.New},
	{asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}, sm3.New},
}

// The ASN.1 of an OCSPRequest (RFC 6960 section 4.1.1).
type ocspRequest struct {
	TBSRequest        tbsRequest
	OptionalSignature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version           int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName     asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList       []singleRequest
	RequestExtensions []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type singleRequest struct {
	CertID     certID
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type certID struct {
	Raw           asn1.RawContent
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

// ocspQuery is a parsed OCSP request: the certificates asked about and
// the nonce extension to echo.
type ocspQuery struct {
	certs []certID
	nonce *pkix.Extension
}

var errMalformed = errors.New("pki: malformed OCSP request")

// parseOCSPRequest parses a DER OCSPRequest. Its optional signature is
// not checked (nor required); a nonce must be an OCTET STRING of 1 to 32
// bytes.
func parseOCSPRequest(der []byte) (*ocspQuery, error) {
	if len(der) > maxOCSPRequest {
		return nil, errMalformed
	}
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil || len(rest) > 0 {
		return nil, errMalformed
	}
	tbs := req.TBSRequest
	if tbs.Version != 0 || len(tbs.RequestList) == 0 || len(tbs.RequestList) > maxOCSPCerts {
		return nil, errMalformed
	}
	q := &ocspQuery{}
	for _, r := range tbs.RequestList {
		q.certs = append(q.certs, r.CertID)
	}
	for i, ext := range tbs.RequestExtensions {
		if !ext.Id.Equal(oidOCSPNonce) {
			continue
		}
		var nonce []byte
		if rest, err := asn1.Unmarshal(ext.Value, &nonce); err != nil || len(rest) > 0 || len(nonce) == 0 || len(nonce) > maxNonce || q.nonce != nil {
			return nil, errMalformed
		}
		q.nonce = &tbs.RequestExtensions[i]
	}
	return q, nil
}

// issuerID is what identifies an issuer in a CertID under one hash
// algorithm: the hashes of its DER subject and of its public key bits.
type issuerID struct{ name, key []byte }

// issuerIDs holds a CA's issuerID by hash algorithm OID (dotted).
type issuerIDs map[string]issuerID

func issuerIDsOf(cert *smx509.Certificate) (issuerIDs, error) {
	bits, err := subjectPublicKey(cert.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, err
	}
	ids := issuerIDs{}
	for _, h := range ocspHashes {
		n, k := h.new(), h.new()
		n.Write(cert.RawSubject)
		k.Write(bits)
		ids[h.oid.String()] = issuerID{n.Sum(nil), k.Sum(nil)}
	}
	return ids, nil
}

// NewOCSPRequest builds a DER OCSPRequest for cert, issued by issuer, with
// a SHA-1 CertID (what OpenSSL and most clients send) and, when nonce is
// not nil, a nonce extension. It is for clients and load generators;
// RespondOCSP answers it.
func NewOCSPRequest(cert, issuer *smx509.Certificate, nonce []byte) ([]byte, error) {
	bits, err := subjectPublicKey(issuer.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, err
	}
	nameHash, keyHash := sha1.Sum(issuer.RawSubject), sha1.Sum(bits)
	var req ocspRequest
	req.TBSRequest.RequestList = []singleRequest{{CertID: certID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: ocspHashes[0].oid, Parameters: asn1.NullRawValue},
		NameHash:      nameHash[:], IssuerKeyHash: keyHash[:], SerialNumber: cert.SerialNumber,
	}}}
	if nonce != nil {
		v, err := asn1.Marshal(nonce)
		if err != nil {
			return nil, err
		}
		req.TBSRequest.RequestExtensions = []pkix.Extension{{Id: oidOCSPNonce, Value: v}}
	}
	return asn1.Marshal(req)
}
