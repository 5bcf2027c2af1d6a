// Package fault defines the errors that mima reports to its users: each carries
// a stable code (documented in docs/errors.md) and a message that is safe to
// show, and may wrap an internal cause that is never shown.
package fault

import (
	"errors"
	"fmt"
)

// Code is a stable, documented error code such as "key_not_found".
type Code string

// The codes every layer may return. The API maps each to one HTTP status.
const (
	Internal         Code = "internal"
	BadRequest       Code = "bad_request"
	MalformedJSON    Code = "malformed_json"
	MalformedCBOR    Code = "malformed_cbor"
	UnknownField     Code = "unknown_field"
	BodyTooLarge     Code = "body_too_large"
	UnsupportedMedia Code = "unsupported_media_type"
	InvalidBase64    Code = "invalid_base64"
	InvalidArgument  Code = "invalid_argument"
	Unauthenticated  Code = "unauthenticated"
	TokenExpired     Code = "token_expired"
	TokenRevoked     Code = "token_revoked"
	TokenTooDeep     Code = "token_too_deep"
	PermissionDenied Code = "permission_denied"
	NotFound         Code = "not_found"
	RouteNotFound    Code = "route_not_found"
	MethodNotAllowed Code = "method_not_allowed"
	AlreadyExists    Code = "already_exists"
	TenantNotFound   Code = "tenant_not_found"
	PolicyNotFound   Code = "policy_not_found"
	TokenNotFound    Code = "token_not_found"
	Sealed           Code = "sealed"
	NotInitialized   Code = "not_initialized"
	AlreadyInit      Code = "already_initialized"
	InvalidShare     Code = "invalid_share"
	WrongShare       Code = "wrong_share"
	ForeignShare     Code = "foreign_share"
	DuplicateShare   Code = "duplicate_share"
	UnsealFailed     Code = "unseal_failed"
	StorageFailure   Code = "storage_unavailable"
	AuditFailure     Code = "audit_unavailable"
	RateLimited      Code = "rate_limited"
	QuotaExceeded    Code = "quota_exceeded"
	LastRootToken    Code = "last_root_token"

	// Key service codes.
	KeyNotFound        Code = "key_not_found"
	KeyTypeMismatch    Code = "key_type_mismatch"
	KeyDisabled        Code = "key_disabled"
	KeyPendingDeletion Code = "key_pending_deletion"
	KeyVersionTooOld   Code = "key_version_below_minimum"
	DecryptFailed      Code = "decrypt_failed"
	BatchTooLarge      Code = "batch_too_large"
	KeyNotExportable   Code = "key_not_exportable"
	ImportFailed       Code = "import_failed"
	KeyDestroyed       Code = "key_destroyed"
	AliasNotFound      Code = "alias_not_found"
	ImportTokenInvalid Code = "import_token_invalid"
	BackupInvalid      Code = "backup_invalid"

	// CA codes.
	CANotFound          Code = "ca_not_found"
	CAPending           Code = "ca_pending"
	CAExpired           Code = "ca_expired"
	CARevoked           Code = "ca_revoked"
	CertificateNotFound Code = "certificate_not_found"
	CertificateInvalid  Code = "certificate_invalid"
	ProfileNotFound     Code = "profile_not_found"
	ProfileViolation    Code = "profile_violation"
	CSRInvalid          Code = "csr_invalid"
	AlreadyRevoked      Code = "already_revoked"
	NotSM2              Code = "not_sm2"

	// CMS codes: signed data, envelopes, timestamps and certificate login.
	CMSMalformed           Code = "cms_malformed"
	CertificateKeyMismatch Code = "certificate_key_mismatch"
	CertificateExpired     Code = "certificate_expired"
	CertificateRevoked     Code = "certificate_revoked"
	CertificateUntrusted   Code = "certificate_untrusted"
	SignatureInvalid       Code = "signature_invalid"
	TSANotFound            Code = "tsa_not_found"
	TSAUnavailable         Code = "tsa_unavailable"
	ChallengeExpired       Code = "challenge_expired"
	ChallengeInvalid       Code = "challenge_invalid"
	LoginRuleNotFound      Code = "login_rule_not_found"
	LoginRuleNotMatched    Code = "login_rule_not_matched"

	// SM9 codes: an identity past its validity period, or revoked by its
	// key generation centre.
	IdentityExpired Code = "identity_expired"
	IdentityRevoked Code = "identity_revoked"

	// V2X SCMS codes.
	DeploymentNotFound Code = "v2x_deployment_not_found"
	RoleConflict       Code = "v2x_role_conflict"
	DeviceNotAllowed   Code = "v2x_device_not_allowed"
	DeviceBlocked      Code = "v2x_device_blocked"
	SPDUInvalid        Code = "v2x_spdu_invalid"
	DownloadNotReady   Code = "v2x_download_not_ready"
	LAUnavailable      Code = "v2x_la_unavailable"
	MigrationRequired  Code = "v2x_migration_required"
)

// KeyVersionExhausted: the key version made every SM4-GCM encryption its
// nonce budget allows.
const KeyVersionExhausted Code = "key_version_exhausted"

// Crypto device codes: the device behind the key service is at capacity
// (DeviceBusy) or cannot be reached (DeviceUnavailable); both are worth a
// retry.
const (
	DeviceBusy        Code = "device_busy"
	DeviceUnavailable Code = "device_unavailable"
)

// Error is an error with a stable code and a message safe to return to a
// caller. Cause, when set, is for logs only.
type Error struct {
	Code    Code
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with the given code and a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with the given code and message whose cause is err.
// The cause is kept for logs and never shown to callers.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	if fe, ok := errors.AsType[*Error](err); ok {
		return fe.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	fe, ok := errors.AsType[*Error](err)
	return ok && fe.Code == code
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	return errors.AsType[*Error](err)
}

// Invalid reports a request argument that is wrong: code invalid_argument.
func Invalid(format string, args ...any) *Error {
	return New(InvalidArgument, format, args...)
}

// Storage reports a failure of the store. An error that already carries a
// code (the barrier's "sealed", a service's own) passes unchanged; any
// other becomes storage_unavailable, its cause kept for the logs.
func Storage(err error) error {
	return keep(err, StorageFailure, "the store is unavailable")
}

// Unexpected reports a failure that is not the caller's: encoding,
// randomness, a corrupt record. An error that already carries a code
// passes unchanged; any other becomes internal, its cause kept for the
// logs.
func Unexpected(err error) error {
	return keep(err, Internal, "internal error; quote the request id to the operator")
}

// keep returns err if it carries a code, and err wrapped with code and msg
// otherwise.
func keep(err error, code Code, msg string) error {
	if _, ok := As(err); ok {
		return err
	}
	return Wrap(err, code, "%s", msg)
}
