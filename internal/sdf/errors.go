package sdf

import (
	"errors"
	"fmt"

	"github.com/mimacrypto/mima/sdk"
)

// Code is a GM/T 0018-2012 return code (SDR_*).
type Code uint32

// The standard's return codes.
const (
	OK               Code = 0
	base             Code = 0x01000000
	UnknownErr       Code = base + 0x01
	NotSupport       Code = base + 0x02
	CommFail         Code = base + 0x03
	HardFail         Code = base + 0x04
	OpenDeviceErr    Code = base + 0x05
	OpenSessionErr   Code = base + 0x06
	PardenyErr       Code = base + 0x07
	KeyNotExist      Code = base + 0x08
	AlgNotSupport    Code = base + 0x09
	AlgModNotSupport Code = base + 0x0A
	PKOpErr          Code = base + 0x0B
	SKOpErr          Code = base + 0x0C
	SignErr          Code = base + 0x0D
	VerifyErr        Code = base + 0x0E
	SymOpErr         Code = base + 0x0F
	StepErr          Code = base + 0x10
	FileSizeErr      Code = base + 0x11
	FileNoExist      Code = base + 0x12
	FileOfsErr       Code = base + 0x13
	KeyTypeErr       Code = base + 0x14
	KeyErr           Code = base + 0x15
	EncDataErr       Code = base + 0x16
	RandErr          Code = base + 0x17
	PrkRErr          Code = base + 0x18
	MACErr           Code = base + 0x19
	FileExists       Code = base + 0x1A
	FileWErr         Code = base + 0x1B
	NoBuffer         Code = base + 0x1C
	InArgErr         Code = base + 0x1D
	OutArgErr        Code = base + 0x1E
)

// Error is a failure with the return code the caller gets.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("sdf: 0x%08X: %v", uint32(e.Code), e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// fail is an *Error of code with a message.
func fail(code Code, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// serverCodes maps mima's error codes (docs/errors.md) to return codes;
// a code not listed is SDR_UNKNOWERR, an error without one (the network)
// SDR_COMMFAIL.
var serverCodes = map[string]Code{
	"unauthenticated":           PardenyErr,
	"token_expired":             PardenyErr,
	"token_revoked":             PardenyErr,
	"permission_denied":         PardenyErr,
	"tenant_not_found":          PardenyErr,
	"key_not_found":             KeyNotExist,
	"alias_not_found":           KeyNotExist,
	"key_destroyed":             KeyNotExist,
	"key_pending_deletion":      KeyNotExist,
	"key_disabled":              KeyErr,
	"key_version_below_minimum": KeyErr,
	"key_type_mismatch":         KeyTypeErr,
	"decrypt_failed":            EncDataErr,
	"bad_request":               InArgErr,
	"invalid_argument":          InArgErr,
	"body_too_large":            InArgErr,
	"sealed":                    HardFail,
	"not_initialized":           HardFail,
	"device_unavailable":        HardFail,
	"storage_unavailable":       HardFail,
	"audit_unavailable":         HardFail,
	"device_busy":               CommFail,
	"rate_limited":              CommFail,
}

// CodeOf is the return code of err (nil: SDR_OK).
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var se *sdk.APIError
	if !errors.As(err, &se) {
		return CommFail
	}
	if c, ok := serverCodes[se.Code]; ok {
		return c
	}
	return UnknownErr
}
