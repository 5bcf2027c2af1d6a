package cms

import (
	"encoding/asn1"
	"math/big"
)

// maxRequest bounds a TimeStampReq.
const maxRequest = 64 << 10

// tsQuery is a checked TimeStampReq.
type tsQuery struct {
	imprint messageImprint
	policy  []byte // DER OBJECT IDENTIFIER, nil when not requested
	nonce   *big.Int
	certReq bool
}

// rejection is why a TimeStampReq is refused: a PKIFailureInfo bit and a
// statusString.
type rejection struct {
	bit  int
	text string
}

// parseTimeStampReq reads a TimeStampReq (RFC 3161 section 2.4.1), DER
// or BER:
//
//	TimeStampReq ::= SEQUENCE {
//	  version         INTEGER { v1(1) },
//	  messageImprint  MessageImprint,
//	  reqPolicy       TSAPolicyId OPTIONAL,
//	  nonce           INTEGER OPTIONAL,
//	  certReq         BOOLEAN DEFAULT FALSE,
//	  extensions      [0] IMPLICIT Extensions OPTIONAL }
//
// The optional fields are told apart by their tags, in order: the
// policy's OID may have arcs encoding/asn1 cannot hold.
func parseTimeStampReq(in []byte) (*tsQuery, *rejection) {
	bad := &rejection{failBadDataFormat, "the request is not a DER TimeStampReq"}
	if len(in) > maxRequest {
		return nil, &rejection{failBadDataFormat, "the request is too long"}
	}
	der, err := toDER(in)
	if err != nil {
		return nil, bad
	}
	var seq asn1.RawValue
	if unmarshalAll(der, &seq) != nil || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence {
		return nil, bad
	}
	elems, err := elements(seq.Bytes)
	if err != nil || len(elems) < 2 {
		return nil, bad
	}
	var version int
	if unmarshalAll(elems[0].FullBytes, &version) != nil {
		return nil, bad
	}
	if version != 1 {
		return nil, &rejection{failBadRequest, "only version 1 requests are supported"}
	}
	q := &tsQuery{}
	if unmarshalAll(elems[1].FullBytes, &q.imprint) != nil {
		return nil, bad
	}
	h, ok := hashOf(q.imprint.HashAlgorithm)
	if !ok {
		return nil, &rejection{failBadAlg, "the message imprint's hash algorithm is not SM3, SHA-256 or SHA-1"}
	}
	if len(q.imprint.HashedMessage) != h.new().Size() {
		return nil, &rejection{failBadDataFormat, "the message imprint's length does not fit its hash algorithm"}
	}
	if r := q.optional(elems[2:]); r != nil {
		return nil, r
	}
	return q, nil
}

// optional reads the optional fields of a TimeStampReq.
func (q *tsQuery) optional(elems []asn1.RawValue) *rejection {
	bad := &rejection{failBadDataFormat, "the request is not a DER TimeStampReq"}
	next := 0 // the first field that may still come: policy, nonce, certReq, extensions
	for _, e := range elems {
		field := -1
		switch {
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagOID:
			field = 0
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagInteger:
			field = 1
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagBoolean:
			field = 2
		case e.Class == asn1.ClassContextSpecific && e.Tag == 0:
			field = 3
		}
		if field < next {
			return bad
		}
		next = field + 1
		switch field {
		case 0:
			if _, err := decodeOID(e.FullBytes); err != nil {
				return bad
			}
			q.policy = e.FullBytes
		case 1:
			if len(e.Bytes) > 32 || unmarshalAll(e.FullBytes, &q.nonce) != nil {
				return &rejection{failBadDataFormat, "the nonce is not an INTEGER of at most 256 bits"}
			}
		case 2:
			if unmarshalAll(e.FullBytes, &q.certReq) != nil {
				return bad
			}
		case 3:
			return &rejection{failUnacceptedExtension, "this TSA accepts no request extensions"}
		}
	}
	return nil
}
