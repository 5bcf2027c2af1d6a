// Package remotela reaches a V2X linkage authority at another mima
// cluster through its API (a standalone LA, /v1/v2x-las/{la}), as an
// scms.LinkageAuthority of a deployment here.
package remotela

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/scms"
	"github.com/mimacrypto/mima/sdk"
)

// timeout bounds one call to an LA: the MA calls while holding the
// deployment's write locks.
const timeout = 15 * time.Second

// Dial returns the LA r names. It does not connect until asked.
func Dial(r scms.RemoteLA) (scms.LinkageAuthority, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if len(r.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(r.CACert) {
			return nil, errors.New("the remote LA's CA certificates are not PEM")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c, err := sdk.New(r.URL, sdk.WithToken(r.Token), sdk.WithHTTPClient(&http.Client{Transport: t, Timeout: timeout}))
	if err != nil {
		return nil, err
	}
	return &la{c: c, name: r.Name, url: r.URL}, nil
}

type la struct {
	c         *sdk.Client
	name, url string
}

// PreLinkage asks the LA for pre-linkage values.
func (l *la) PreLinkage(ctx context.Context, r scms.PLVRequest) (*scms.PLVResponse, error) {
	resp, err := l.c.V2X().PreLinkage(ctx, l.name, sdk.V2XPreLinkageRequest{Now: r.Now, First: r.First, Periods: r.Periods, JMax: r.JMax})
	if err != nil {
		return nil, l.unavailable(err)
	}
	out := &scms.PLVResponse{ELCI: resp.ELCI, PLV: make([][]ieee1609.EncryptedIndividualPLV, len(resp.PLV))}
	for k, row := range resp.PLV {
		out.PLV[k] = make([]ieee1609.EncryptedIndividualPLV, len(row))
		for j, b := range row {
			if err := coer.Unmarshal(b, &out.PLV[k][j]); err != nil {
				return nil, fault.Wrap(err, fault.LAUnavailable, "the LA %s at %s answered a pre-linkage value that is not COER", l.name, l.url)
			}
		}
	}
	return out, nil
}

// LinkageSeed asks the LA for a chain's seed.
func (l *la) LinkageSeed(ctx context.Context, r scms.SeedRequest) (*scms.SeedResponse, error) {
	resp, err := l.c.V2X().LinkageSeed(ctx, l.name, sdk.V2XSeedRequest{ELCI: r.ELCI, IRev: r.IRev})
	if err != nil {
		return nil, l.unavailable(err)
	}
	out := &scms.SeedResponse{At: resp.At, End: resp.End}
	b, err := hex.DecodeString(resp.Seed)
	if err != nil || len(b) != len(out.Seed) {
		return nil, fault.New(fault.LAUnavailable, "the LA %s at %s answered a seed of another form", l.name, l.url)
	}
	copy(out.Seed[:], b)
	return out, nil
}

// unavailable says which LA failed and how (its code and message, or the
// network's error), never the token.
func (l *la) unavailable(err error) error {
	return fault.New(fault.LAUnavailable, "the LA %s at %s: %v", l.name, l.url, err)
}
