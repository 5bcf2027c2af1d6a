package coer

// Null is the ASN.1 NULL type. Its COER encoding is empty.
// Use *Null for an OPTIONAL NULL component or a NULL CHOICE alternative.
type Null struct{}

// Open is an open type whose contents are kept undecoded:
// it holds the raw COER encoding of the inner value and is encoded as a
// length determinant followed by those bytes.
type Open []byte

// BitString is a variable-size BIT STRING (X.696 13.3). Bytes holds the bits
// most significant bit first; BitLength is the number of bits, which must lie
// in (len(Bytes)-1)*8+1 .. len(Bytes)*8 (or be 0 with no bytes).
type BitString struct {
	Bytes     []byte
	BitLength int
}

// Extensible marks a SEQUENCE or CHOICE as extensible (its ASN.1 definition
// has an extension marker "..."). Declare it as a blank field, conventionally
// the first one: `_ coer.Extensible`.
type Extensible struct{}

// Choice marks a struct as a CHOICE rather than a SEQUENCE. Declare it as a
// blank field among the first fields: `_ coer.Choice`.
type Choice struct{}

// UnknownExtension holds an extension addition (of a SEQUENCE) or an extension
// alternative (of a CHOICE) that the Go type does not define, so that
// decoding and re-encoding reproduces the input.
//
// In a SEQUENCE (field type []UnknownExtension tagged `coer:"unknown"`), Tag
// is the 0-based position of the addition in the extension presence bitmap,
// counting the additions the struct defines, so it is at least the number of
// fields tagged "ext"; entries are in increasing Tag order. The decoder adds
// one final entry with a nil Raw when the bitmap length differs from what
// the struct would produce (one bit per known addition, extended to the last
// unknown addition present): its Tag+1 is the bitmap length. That happens for
// encodings from an encoder with an earlier version of the type (a shorter
// bitmap) or a later one (a longer bitmap ending in clear bits).
//
// In a CHOICE (field type *UnknownExtension tagged `coer:"unknown"`), Tag is
// the context-specific tag number of the alternative.
//
// Raw is the contents of the open type, without its length determinant.
type UnknownExtension struct {
	Tag int
	Raw []byte
}

// Marshaler is implemented by types that produce their own COER encoding.
type Marshaler interface {
	MarshalCOER() ([]byte, error)
}

// Unmarshaler is implemented by types that decode their own COER encoding.
// UnmarshalCOER decodes a prefix of data and returns the remaining bytes.
type Unmarshaler interface {
	UnmarshalCOER(data []byte) (rest []byte, err error)
}
