package sdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

//go:generate go test -run TestErrorCodesInStep -update

// APIError is an error answered by the server. errors.Is matches it
// against the sentinel of its code (errors.Is(err, sdk.ErrKeyNotFound)),
// and errors.As gives its details:
//
//	var e *sdk.APIError
//	if errors.As(err, &e) { log.Print(e.Code, e.RequestID) }
type APIError struct {
	// Status is the HTTP status of the answer.
	Status int `json:"-"`
	// Code is the stable error code (docs/errors.md).
	Code string `json:"code"`
	// Message is for people and may change.
	Message string `json:"message"`
	// RequestID identifies the request in the server's audit log.
	RequestID string `json:"request_id"`
	// RetryAfter is how long the server asks the client to wait (its
	// Retry-After header); zero when it did not say.
	RetryAfter time.Duration `json:"-"`
}

// Error describes the error with its code, status and request id.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d, request %s)", e.Code, e.Message, e.Status, e.RequestID)
}

// Is reports whether target is an *APIError with the same code, which
// makes the sentinels (ErrKeyNotFound, ...) usable with errors.Is.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// sentinel is the value errors.Is compares an answer's code with.
func sentinel(code string) *APIError {
	return &APIError{Code: code, Message: "any " + code + " error"}
}

// readAPIError reads the error answer resp; an answer that is not in
// mima's error shape becomes the code http_error.
func readAPIError(resp *http.Response) *APIError {
	var eb struct {
		Error *APIError `json:"error"`
	}
	e := &APIError{Code: "http_error", Message: resp.Status}
	if err := json.NewDecoder(resp.Body).Decode(&eb); err == nil && eb.Error != nil {
		e = eb.Error
	}
	e.Status = resp.StatusCode
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}

// transportError is a request that got no answer (connection refused,
// reset, timed out): it may be retried when the call is idempotent.
type transportError struct{ err error }

// Error is the wrapped error's text.
func (e *transportError) Error() string { return e.err.Error() }

// Unwrap gives the wrapped error.
func (e *transportError) Unwrap() error { return e.err }
