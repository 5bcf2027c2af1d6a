package ee

import (
	"errors"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// switchEvery is how long a vehicle signs with one pseudonym before it
// moves to the next of the period.
const switchEvery = 5 * time.Minute

// ErrNoCertificate means the device holds no certificate valid now.
var ErrNoCertificate = errors.New("no certificate valid now: request and download pseudonyms")

// signer picks the certificate to sign with now: a roadside unit's
// application certificate, or the pseudonym of the current period whose
// turn it is (they rotate every five minutes).
func (d *Device) signer() (*ieee1609.Certificate, []byte, error) {
	now := d.now()
	if app := d.state.App; app != nil && app.Cert != nil {
		var c ieee1609.Certificate
		if err := coer.Unmarshal(app.Cert, &c); err != nil {
			return nil, nil, err
		}
		return &c, app.Key, nil
	}
	var valid []Pseudonym
	var certs []ieee1609.Certificate
	for _, p := range d.state.Pseudonyms {
		var c ieee1609.Certificate
		if err := coer.Unmarshal(p.Cert, &c); err != nil {
			return nil, nil, err
		}
		if c.ToBeSigned.ValidityPeriod.Contains(now) {
			valid, certs = append(valid, p), append(certs, c)
		}
	}
	if len(valid) == 0 {
		return nil, nil, ErrNoCertificate
	}
	n := int(now.Unix()/int64(switchEvery/time.Second)) % len(valid)
	return &certs[n], valid[n].Key, nil
}

// Sign makes a signed SPDU of payload for psid (a basic safety message
// has PSID 32) with the certificate whose turn it is, carrying the
// certificate so that any receiver can verify it.
func (d *Device) Sign(payload []byte, psid ieee1609.Psid, location *ieee1609.ThreeDLocation) ([]byte, error) {
	cert, k, err := d.signer()
	if err != nil {
		return nil, err
	}
	key, err := privateKey(k)
	if err != nil {
		return nil, err
	}
	hdr := ieee1609.HeaderInfo{Psid: psid, GenerationTime: d.time64(), GenerationLocation: location}
	data, err := d.profile.SignData(d.rand, key, cert, sec.Unsecured(payload), hdr, false)
	if err != nil {
		return nil, err
	}
	return coer.Marshal(data)
}

// Verify checks an SPDU from another device: its certificate chain to the
// trust list at its generation time, revocation by the CRLs held, the
// PSID (when not 0) and its freshness (maxAge, when not 0), the region
// and the signature. It returns the payload and the signer's certificate.
func (d *Device) Verify(spdu []byte, psid ieee1609.Psid, maxAge time.Duration) (*trust.Verified, error) {
	data, err := trust.DecodeData(spdu)
	if err != nil {
		return nil, err
	}
	return d.trust.VerifyData(data, trust.Options{At: d.now(), Psid: psid, MaxAge: maxAge})
}

// CheckRevoked reports whether a certificate (COER) is revoked by the
// CRLs the device holds.
func (d *Device) CheckRevoked(cert []byte) (bool, error) {
	var c ieee1609.Certificate
	if err := coer.Unmarshal(cert, &c); err != nil {
		return false, err
	}
	return d.trust.Revoked(&c)
}
