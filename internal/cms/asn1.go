package cms

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
)

// The ASN.1 of CMS (RFC 5652) as far as this package reads and writes it.
// Parts that are signed, or that are carried over unchanged when a
// signer is added, stay raw.

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContent     encapContentInfo
	Certificates     asn1.RawValue   `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue   `asn1:"optional,tag:1"`
	SignerInfos      []asn1.RawValue `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// Tags of the implicitly tagged SETs of a SignerInfo and of a SET OF.
const (
	tagSignedAttrs   = 0xa0
	tagUnsignedAttrs = 0xa1
	tagSet           = 0x31
	tagSequence      = 0x30
)

// unmarshalAll decodes der into out and refuses trailing data.
func unmarshalAll(der []byte, out any) error {
	rest, err := asn1.Unmarshal(der, out)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New("cms: trailing data")
	}
	return nil
}

// elements splits the contents of a constructed value into its elements.
func elements(content []byte) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for len(content) > 0 {
		var v asn1.RawValue
		var err error
		if content, err = asn1.Unmarshal(content, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// derSet returns the DER SET OF the encoded elements under tag: sorted,
// as DER requires.
func derSet(tag byte, elems [][]byte) []byte {
	sorted := slices.Clone(elems)
	slices.SortFunc(sorted, bytes.Compare)
	return appendTLV(nil, []byte{tag}, bytes.Join(sorted, nil))
}

// newAttribute encodes an attribute with one value.
func newAttribute(typ asn1.ObjectIdentifier, value any) ([]byte, error) {
	v, err := asn1.Marshal(value)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(attribute{Type: typ, Values: []asn1.RawValue{{FullBytes: v}}})
}

// attributes is a parsed SET OF Attribute.
type attributes []attribute

// parseAttributes reads the contents of a SET OF Attribute.
func parseAttributes(content []byte) (attributes, error) {
	elems, err := elements(content)
	if err != nil {
		return nil, err
	}
	out := make(attributes, len(elems))
	for i, e := range elems {
		if err := unmarshalAll(e.FullBytes, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// single returns the one value of the attribute typ: ok is false when the
// attribute is absent, err set when it appears more than once or has
// other than one value (RFC 5652 section 5.3).
func (as attributes) single(typ asn1.ObjectIdentifier) (v asn1.RawValue, ok bool, err error) {
	for _, a := range as {
		if !a.Type.Equal(typ) {
			continue
		}
		if ok || len(a.Values) != 1 {
			return asn1.RawValue{}, false, errors.New("cms: an attribute appears twice or without exactly one value")
		}
		v, ok = a.Values[0], true
	}
	return v, ok, nil
}

// values returns every value of every attribute typ.
func (as attributes) values(typ asn1.ObjectIdentifier) []asn1.RawValue {
	var out []asn1.RawValue
	for _, a := range as {
		if a.Type.Equal(typ) {
			out = append(out, a.Values...)
		}
	}
	return out
}

// algorithm returns an AlgorithmIdentifier with the parameters of set:
// NULL for GM/T 0010, absent for RFC 5652.
func (o oidSet) algorithm(oid asn1.ObjectIdentifier) pkix.AlgorithmIdentifier {
	a := pkix.AlgorithmIdentifier{Algorithm: oid}
	if o.nullParams {
		a.Parameters = asn1.NullRawValue
	}
	return a
}

// isSM3 reports whether a digest AlgorithmIdentifier is SM3 with absent
// or NULL parameters.
func isSM3(a pkix.AlgorithmIdentifier) bool {
	return a.Algorithm.Equal(oidSM3) && noParams(a)
}

// noParams reports whether an AlgorithmIdentifier's parameters are absent
// or NULL.
func noParams(a pkix.AlgorithmIdentifier) bool {
	return len(a.Parameters.FullBytes) == 0 || bytes.Equal(a.Parameters.FullBytes, asn1.NullBytes)
}
