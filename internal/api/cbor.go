package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/mimacrypto/mima/internal/fault"
)

// mediaCBOR is the media type of CBOR (RFC 8949) bodies. The batchable
// crypto routes take it beside JSON: the same fields by the same names,
// binary values as byte strings instead of base64, and a CBOR answer.
const mediaCBOR = "application/cbor"

// cborDecoding is as strict as decode is with JSON: unknown fields are
// refused, and so are duplicate keys, field names that match only when
// case is ignored, and tags, none of which a request has a use for.
var cborDecoding = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		TagsMd:            cbor.TagsForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// isCBOR reports whether the request body is CBOR.
func isCBOR(r *http.Request) bool {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mt), mediaCBOR)
}

// decodeCBOR reads the request body as one CBOR map into v; an empty body
// is the empty map.
func (c *call) decodeCBOR(v any) error {
	b, err := io.ReadAll(c.r.Body)
	if err != nil {
		return cborError(err)
	}
	if len(b) == 0 {
		return nil
	}
	if err := cborDecoding.Unmarshal(b, v); err != nil {
		return cborError(err)
	}
	return nil
}

// cborError classifies an error of reading or decoding a CBOR body.
func cborError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		unknown  *cbor.UnknownFieldError
		typeErr  *cbor.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return fault.New(fault.BodyTooLarge, "request body is larger than %d bytes", tooLarge.Limit)
	case errors.As(err, &unknown):
		return fault.New(fault.UnknownField, "unknown field (map element %d)", unknown.Index)
	case errors.As(err, &typeErr) && typeErr.StructFieldName == "":
		return fault.New(fault.InvalidArgument, "request body must be a CBOR map")
	case errors.As(err, &typeErr):
		return fault.New(fault.InvalidArgument, "field %q must be of type %s", typeErr.StructFieldName, typeErr.GoType)
	default:
		return fault.Wrap(err, fault.MalformedCBOR, "request body is not one well-formed CBOR map")
	}
}

// writeCBOR writes v as a CBOR answer.
func writeCBOR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mediaCBOR)
	w.WriteHeader(status)
	_ = cbor.NewEncoder(w).Encode(v)
}
