// Package p11 is the Go side of libmimapkcs11, the PKCS#11 v2.40 module
// over mima's API: one slot a tenant, mima keys as objects, the SM2/SM3
// mechanisms of Chinese vendors' modules. cmd/libmimapkcs11 exports it to
// C; docs/sdf.md ("PKCS#11") is the manual.
package p11

import (
	"errors"
	"fmt"

	"github.com/mimacrypto/mima/sdk"
)

// RV is a PKCS#11 return value (CKR_*).
type RV uint

// The return values the module gives (pkcs11t.h).
const (
	OK                            RV = 0x000
	HostMemory                    RV = 0x002
	SlotIDInvalid                 RV = 0x003
	GeneralError                  RV = 0x005
	FunctionFailed                RV = 0x006
	ArgumentsBad                  RV = 0x007
	AttributeSensitive            RV = 0x011
	AttributeTypeInvalid          RV = 0x012
	AttributeValueInvalid         RV = 0x013
	ActionProhibited              RV = 0x01B
	DataInvalid                   RV = 0x020
	DataLenRange                  RV = 0x021
	DeviceError                   RV = 0x030
	EncryptedDataInvalid          RV = 0x040
	EncryptedDataLenRange         RV = 0x041
	FunctionNotSupported          RV = 0x054
	KeyHandleInvalid              RV = 0x060
	KeyTypeInconsistent           RV = 0x063
	KeyFunctionNotPermitted       RV = 0x068
	KeyUnextractable              RV = 0x06A
	MechanismInvalid              RV = 0x070
	MechanismParamInvalid         RV = 0x071
	ObjectHandleInvalid           RV = 0x082
	OperationActive               RV = 0x090
	OperationNotInitialized       RV = 0x091
	PinIncorrect                  RV = 0x0A0
	PinExpired                    RV = 0x0A3
	SessionHandleInvalid          RV = 0x0B3
	SessionParallelNotSupp        RV = 0x0B4
	SessionReadOnly               RV = 0x0B5
	SignatureInvalid              RV = 0x0C0
	SignatureLenRange             RV = 0x0C1
	TemplateIncomplete            RV = 0x0D0
	TemplateInconsistent          RV = 0x0D1
	UnwrappingKeyHandleInvalid    RV = 0x0F0
	UnwrappingKeyTypeInconsistent RV = 0x0F2
	UserAlreadyLoggedIn           RV = 0x100
	UserNotLoggedIn               RV = 0x101
	UserTypeInvalid               RV = 0x103
	WrappedKeyInvalid             RV = 0x110
	WrappingKeyHandleInvalid      RV = 0x113
	WrappingKeyTypeInconsistent   RV = 0x115
	BufferTooSmall                RV = 0x150
	CryptokiNotInitialized        RV = 0x190
	CryptokiAlreadyInitiated      RV = 0x191
)

// Error is a failure with the return value the caller gets.
type Error struct {
	RV  RV
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("p11: CKR 0x%X: %v", uint(e.RV), e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// fail is an *Error of rv with a message.
func fail(rv RV, format string, args ...any) error {
	return &Error{RV: rv, Err: fmt.Errorf(format, args...)}
}

// serverRVs maps mima's error codes (docs/errors.md) to return values; a
// code not listed is CKR_FUNCTION_FAILED, an error without one (the
// network) CKR_DEVICE_ERROR.
var serverRVs = map[string]RV{
	"unauthenticated":      UserNotLoggedIn,
	"token_expired":        UserNotLoggedIn,
	"token_revoked":        UserNotLoggedIn,
	"permission_denied":    KeyFunctionNotPermitted,
	"key_not_found":        ObjectHandleInvalid,
	"key_destroyed":        ObjectHandleInvalid,
	"key_pending_deletion": ObjectHandleInvalid,
	"key_disabled":         KeyFunctionNotPermitted,
	"key_type_mismatch":    KeyTypeInconsistent,
	"decrypt_failed":       EncryptedDataInvalid,
	"already_exists":       TemplateInconsistent,
	"invalid_argument":     ArgumentsBad,
	"bad_request":          ArgumentsBad,
	"body_too_large":       DataLenRange,
	"sealed":               DeviceError,
	"not_initialized":      DeviceError,
	"device_unavailable":   DeviceError,
	"storage_unavailable":  DeviceError,
	"audit_unavailable":    DeviceError,
	"device_busy":          DeviceError,
	"rate_limited":         DeviceError,
}

// RVOf is the return value of err (nil: CKR_OK).
func RVOf(err error) RV {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.RV
	}
	var se *sdk.APIError
	if !errors.As(err, &se) {
		return DeviceError
	}
	if rv, ok := serverRVs[se.Code]; ok {
		return rv
	}
	return FunctionFailed
}
