package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mimacrypto/mima/internal/fault"
)

// decode reads the request body as one JSON object into v, or one CBOR
// map on a route that takes CBOR. Unknown fields, trailing data, bad
// base64 in []byte fields and bodies over the limit are refused with their
// own codes. An empty body decodes as {}. A body naming an object that the
// route does not declare is refused (checkNamed).
func (c *call) decode(v any) error {
	if c.cbor {
		if err := c.decodeCBOR(v); err != nil {
			return err
		}
		return c.checkNamed(v)
	}
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return decodeError(err)
	}
	if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
		err = errors.New("trailing data after the JSON object")
		return fault.Wrap(err, fault.MalformedJSON, "request body must be a single JSON object")
	}
	return c.checkNamed(v)
}

// decodeError classifies an encoding/json error.
func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		corrupt  base64.CorruptInputError
		faultErr *fault.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return fault.New(fault.BodyTooLarge, "request body is larger than %d bytes", tooLarge.Limit)
	case errors.As(err, &faultErr):
		return faultErr
	case errors.As(err, &corrupt):
		return fault.New(fault.InvalidBase64, "a binary field is not valid standard base64")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.MalformedJSON, "request body is not valid JSON")
	case errors.As(err, &typeErr):
		return fault.New(fault.InvalidArgument, "field %q must be of type %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json reports unknown fields only as text.
		return fault.New(fault.UnknownField, "%s", strings.TrimPrefix(err.Error(), "json: "))
	default:
		return fault.Wrap(err, fault.MalformedJSON, "request body is not valid JSON")
	}
}

// limit reads the page size of a paged list from ?limit=, 0 when absent;
// the service checks its range.
func (c *call) limit() (int, error) {
	l := c.r.URL.Query().Get("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil {
		return 0, fault.New(fault.InvalidArgument, "limit must be a number")
	}
	return n, nil
}
