// Package coer implements the Canonical Octet Encoding Rules (COER) of ASN.1,
// ITU-T X.696 | ISO/IEC 8825-7, for Go structs that describe ASN.1 types
// with struct tags, in the manner of encoding/asn1. It is the wire codec for
// the IEEE 1609.2 / 1609.2.1 types.
//
// COER carries no tags for SEQUENCE components, so the Go type must match
// the ASN.1 type exactly; the encoding is canonical, and Unmarshal rejects
// the non-canonical forms that are cheap to detect (see below).
//
// # Mapping of Go types
//
//	Go type                        ASN.1 type and COER encoding (X.696 clause)
//	-------                        -------------------------------------------
//	bool                           BOOLEAN: 0x00 or 0xFF (9)
//	uint8/16/32/64                 INTEGER (0..2^n-1) or a sub-range: 1, 2, 4 or 8
//	                               octets big-endian (10.3)
//	int8/16/32/64                  INTEGER with a negative lower bound fitting
//	                               the width: 1, 2, 4 or 8 octets two's complement (10)
//	integer kind, `coer:"varint"`  semi-constrained or unconstrained INTEGER: length
//	                               determinant + minimal octets, unsigned for the
//	                               unsigned Go kinds (10.4), two's complement for
//	                               the signed ones (10.8)
//	big.Int, *big.Int              unconstrained INTEGER (10.8)
//	integer kind, `coer:"enum"`    ENUMERATED: one octet for 0..127, else 0x80|n and
//	                               n octets of two's complement (11)
//	[N]byte                        OCTET STRING (SIZE(N)): the N octets
//	[N]byte, `coer:"bits"`         BIT STRING (SIZE(N*8)): the N octets (13.1)
//	[]byte                         OCTET STRING: length determinant + octets
//	[]byte, `coer:"size=N"`        OCTET STRING (SIZE(N)): the N octets
//	string                         character string (UTF8String, IA5String, …):
//	                               length determinant + octets (27)
//	string, `coer:"size=N"`        fixed-size character string: the N octets
//	BitString                      BIT STRING: length determinant, an octet with the
//	                               number of unused bits, the bits (13.3)
//	asn1.ObjectIdentifier          OBJECT IDENTIFIER: length determinant + the
//	                               X.690 contents octets
//	Null                           NULL: nothing
//	Open                           open type, kept undecoded: length determinant +
//	                               the raw encoding
//	any type, `coer:"open"`        the value's encoding wrapped as an open type
//	other slices []T               SEQUENCE OF T: quantity (one octet L, then the
//	                               count in L octets), then the elements (20)
//	*T                             T (a nil pointer only for absent OPTIONAL values)
//	struct                         SEQUENCE (16)
//	struct with _ Choice           CHOICE with AUTOMATIC TAGS (21)
//
// A named type follows its underlying type (type HashedId8 [8]byte is a
// fixed OCTET STRING). A type whose pointer implements Marshaler or
// Unmarshaler encodes or decodes itself, overriding the rules above.
// Integer kinds int, uint and uintptr have no fixed width and need varint or
// enum. A named type with underlying type []int is an OBJECT IDENTIFIER.
//
// The type options varint, enum, bits and size apply through pointers and to
// the elements of a SEQUENCE OF (`coer:"varint"` on a []Psid field makes
// each Psid a varint); open applies to the field's value as a whole.
//
// # SEQUENCE
//
// A struct is a SEQUENCE of its exported fields in order. Fields tagged
// `coer:"-"`, unexported fields and blank fields are skipped. Field tags:
//
//	optional   OPTIONAL component; absent ⇔ nil (the field must be a pointer or slice)
//	default    DEFAULT component, encoded like OPTIONAL: the struct author leaves it
//	           nil when the value equals the default (COER forbids encoding it)
//	ext        extension addition (implies optional); must follow all root fields
//	unknown    []UnknownExtension that keeps additions the struct does not know
//
// The encoding starts with a preamble (16): an extension bit if the
// struct has a `_ coer.Extensible` field (1 when an extension addition is
// present), then one presence bit per optional or default root field,
// padded with zero bits to whole octets; there is no preamble when there are
// no such bits. The root fields follow. If the extension bit is set, an
// extension presence bitmap follows as a variable-size BIT STRING with one
// bit per extension addition of the type, then each present addition as an
// open type (16.4, 16.5). Additions or bitmap bits the struct does not know
// are an error unless it has an unknown field to keep them, in which case
// Marshal reproduces them. An extension addition group [[ ... ]] is modelled
// as one ext field that points to a struct holding the group's components.
//
// # CHOICE
//
// A struct with a `_ coer.Choice` field is a CHOICE: each field is an
// alternative, a pointer or slice of which exactly one is non-nil. The
// alternatives are numbered 0, 1, 2, … in field order (AUTOMATIC TAGS), and
// the encoding is the tag of the chosen one (8.7: 0x80|n for n < 63, else
// 0xBF and n in base 128), then its encoding. Alternatives tagged ext are
// extension alternatives, wrapped as open types. An extensible CHOICE may
// keep an unknown alternative in a *UnknownExtension field tagged unknown.
//
// # Canonical form
//
// Unmarshal rejects: lengths in the long form below 128 or with leading zero
// octets (8.6); integers, ENUMERATED values, quantities and tag numbers with
// redundant leading octets or in a long form the short form could carry;
// booleans other than 0x00 and 0xFF; non-zero padding bits in a preamble,
// BIT STRING or extension bitmap; an extension bit with no addition present;
// trailing bytes after the value or inside an open type. An extension bitmap
// whose length is not the number of the type's additions (16.4), as written
// by an encoder with another version of the type, is accepted only by a
// struct with an unknown field, which keeps what is needed to re-encode it
// exactly. It cannot check what depends on
// information not in the Go type: value ranges narrower than the Go type,
// DEFAULT values encoded explicitly, or the character set of strings.
//
// Every length or count read from the input is checked against the bytes
// left before anything is allocated. A SEQUENCE OF count must not exceed the
// bytes left, which rejects the (pathological) SEQUENCE OF a type that
// encodes in zero octets with more elements than bytes left.
package coer
