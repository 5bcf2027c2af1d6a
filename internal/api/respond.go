package api

import (
	"encoding/json"
	"net/http"

	"github.com/mimacrypto/mima/internal/fault"
)

// statusOf maps every error code to its HTTP status; docs/errors.md lists
// the same table.
func statusOf(code fault.Code) int {
	switch code {
	case fault.BadRequest, fault.MalformedJSON, fault.MalformedCBOR, fault.UnknownField, fault.InvalidBase64,
		fault.InvalidArgument, fault.InvalidShare, fault.WrongShare, fault.ForeignShare,
		fault.DuplicateShare, fault.UnsealFailed, fault.TokenTooDeep,
		fault.KeyTypeMismatch, fault.KeyDisabled, fault.KeyPendingDeletion, fault.KeyVersionTooOld,
		fault.KeyVersionExhausted,
		fault.DecryptFailed, fault.BatchTooLarge, fault.KeyNotExportable, fault.ImportFailed,
		fault.ImportTokenInvalid, fault.BackupInvalid,
		fault.CertificateInvalid, fault.CSRInvalid, fault.ProfileViolation, fault.NotSM2,
		fault.CMSMalformed, fault.CertificateKeyMismatch, fault.SPDUInvalid:
		return http.StatusBadRequest
	case fault.Unauthenticated, fault.TokenExpired, fault.TokenRevoked,
		fault.CertificateUntrusted, fault.SignatureInvalid, fault.ChallengeExpired, fault.ChallengeInvalid:
		return http.StatusUnauthorized
	case fault.PermissionDenied, fault.LoginRuleNotMatched, fault.DeviceNotAllowed, fault.DeviceBlocked:
		return http.StatusForbidden
	case fault.NotFound, fault.RouteNotFound, fault.TenantNotFound, fault.PolicyNotFound, fault.TokenNotFound,
		fault.KeyNotFound, fault.AliasNotFound, fault.CANotFound, fault.CertificateNotFound, fault.ProfileNotFound,
		fault.TSANotFound, fault.LoginRuleNotFound, fault.DeploymentNotFound:
		return http.StatusNotFound
	case fault.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case fault.AlreadyExists, fault.AlreadyInit, fault.KeyDestroyed, fault.LastRootToken,
		fault.CAPending, fault.CAExpired, fault.CARevoked, fault.AlreadyRevoked,
		fault.CertificateExpired, fault.CertificateRevoked, fault.RoleConflict, fault.DownloadNotReady, fault.MigrationRequired,
		fault.IdentityExpired, fault.IdentityRevoked:
		return http.StatusConflict
	case fault.BodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case fault.RateLimited:
		return http.StatusTooManyRequests
	case fault.Sealed, fault.NotInitialized, fault.StorageFailure, fault.AuditFailure, fault.TSAUnavailable, fault.LAUnavailable,
		fault.DeviceBusy, fault.DeviceUnavailable:
		return http.StatusServiceUnavailable
	case fault.QuotaExceeded:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      fault.Code `json:"code"`
	Message   string     `json:"message"`
	RequestID string     `json:"request_id"`
}

// writeError writes err as the standard error body. Only the message of a
// *fault.Error reaches the caller; anything else is logged and reported
// as an internal error.
func (s *Server) writeError(w http.ResponseWriter, id string, err error) int {
	code := fault.CodeOf(err)
	msg := "internal error; quote the request id to the operator"
	if fe, ok := fault.As(err); ok {
		msg = fe.Message
	}
	if code == fault.Internal || code == fault.StorageFailure || code == fault.AuditFailure || code == fault.DeviceUnavailable {
		s.log.Error("request failed", "request_id", id, "code", code, "error", err)
	}
	status := statusOf(code)
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg, RequestID: id}})
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
