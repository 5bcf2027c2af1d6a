package tlcp

import (
	"errors"
	"strconv"
)

// AlertError is an alert description (GB/T 38636-2020 6.4.3). Errors
// returned after the peer sent a fatal alert wrap the AlertError received,
// so callers can test for one with errors.As.
type AlertError uint8

// Alert descriptions. The values from 200 on are specific to TLCP.
const (
	alertCloseNotify            AlertError = 0
	alertUnexpectedMessage      AlertError = 10
	alertBadRecordMAC           AlertError = 20
	alertRecordOverflow         AlertError = 22
	alertHandshakeFailure       AlertError = 40
	alertBadCertificate         AlertError = 42
	alertUnsupportedCertificate AlertError = 43
	alertCertificateRevoked     AlertError = 44
	alertCertificateExpired     AlertError = 45
	alertCertificateUnknown     AlertError = 46
	alertIllegalParameter       AlertError = 47
	alertUnknownCA              AlertError = 48
	alertDecodeError            AlertError = 50
	alertDecryptError           AlertError = 51
	alertProtocolVersion        AlertError = 70
	alertInternalError          AlertError = 80
	alertNoRenegotiation        AlertError = 100
)

const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

var alertText = map[AlertError]string{
	alertCloseNotify:            "close notify",
	alertUnexpectedMessage:      "unexpected message",
	alertBadRecordMAC:           "bad record MAC",
	alertRecordOverflow:         "record overflow",
	alertHandshakeFailure:       "handshake failure",
	alertBadCertificate:         "bad certificate",
	alertUnsupportedCertificate: "unsupported certificate",
	alertCertificateRevoked:     "certificate revoked",
	alertCertificateExpired:     "certificate expired",
	alertCertificateUnknown:     "certificate unknown",
	alertIllegalParameter:       "illegal parameter",
	alertUnknownCA:              "unknown certificate authority",
	alertDecodeError:            "decode error",
	alertDecryptError:           "decrypt error",
	alertProtocolVersion:        "protocol version not supported",
	alertInternalError:          "internal error",
	alertNoRenegotiation:        "no renegotiation",
	200:                         "unsupported site2site",
	201:                         "no area",
	202:                         "unsupported areatype",
	203:                         "bad ibc parameters",
	204:                         "unsupported ibc parameters",
	205:                         "identity needed",
}

// Error returns the alert's name as given in the standard.
func (e AlertError) Error() string {
	if s, ok := alertText[e]; ok {
		return "tlcp: alert " + s
	}
	return "tlcp: alert(" + strconv.Itoa(int(e)) + ")"
}

// ErrCertificateRevoked is wrapped by a Config.VerifyPeerCertificate error
// to report a revoked certificate; the peer then receives the
// certificate_revoked alert.
var ErrCertificateRevoked = errors.New("tlcp: certificate revoked")

// RemoteAlertError is returned when the peer ended the connection with a
// fatal alert.
type RemoteAlertError struct {
	Alert AlertError
}

// Error describes the alert received.
func (e *RemoteAlertError) Error() string {
	return "tlcp: remote error: " + e.Alert.Error()[len("tlcp: "):]
}

// Unwrap returns the alert so that errors.Is(err, alert) holds.
func (e *RemoteAlertError) Unwrap() error { return e.Alert }
