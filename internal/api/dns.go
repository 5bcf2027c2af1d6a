package api

import (
	"encoding/hex"
	"time"

	"github.com/miekg/dns"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/dnstsig"
)

// WithTSIGClock sets the clock that TSIG times are signed with and judged
// by (tests); the default is time.Now.
func WithTSIGClock(now func() time.Time) Option { return func(s *Server) { s.tsigNow = now } }

// tsigProvider is the TSIG provider of the call's hmac-sm3 key under the
// TSIG key name keyName (default: the key's name) and algorithm.
func (s *Server) tsigProvider(c *call, keyName, algorithm string) (*dnstsig.MACProvider, string, error) {
	if keyName == "" {
		keyName = c.object
	}
	if _, ok := dns.IsDomainName(keyName); !ok {
		return nil, "", fault.New(fault.InvalidArgument, "key_name must be a domain name")
	}
	if _, ok := dns.IsDomainName(algorithm); algorithm != "" && !ok {
		return nil, "", fault.New(fault.InvalidArgument, "algorithm must be a domain name such as %q", dnstsig.Algorithm)
	}
	keyName = dns.CanonicalName(keyName)
	return &dnstsig.MACProvider{Algorithm: algorithm, MAC: func(name string, input []byte) ([]byte, error) {
		if name != keyName {
			return nil, dns.ErrSecret
		}
		r, err := s.keys.HMAC(c.ctx, c.tenant, c.object, kms.MACRequest{Input: input})
		return r.MAC, err
	}}, keyName, nil
}

// tsigFault returns err if it is the service's, or an invalid_argument for
// a message that is not a DNS message.
func tsigFault(err error) error {
	if _, ok := fault.As(err); ok {
		return err
	}
	return fault.Wrap(err, fault.InvalidArgument, "message is not a DNS message in wire form")
}

func (s *Server) tsigSign(c *call) (any, error) {
	var b sdk.TSIGSignRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if b.Fudge < 0 || b.Fudge > 65535 {
		return nil, fault.New(fault.InvalidArgument, "fudge must be 0 to 65535 seconds")
	}
	p, keyName, err := s.tsigProvider(c, b.KeyName, b.Algorithm)
	if err != nil {
		return nil, err
	}
	msg, mac, err := dnstsig.Sign(b.Message, p, dnstsig.Options{KeyName: keyName, Algorithm: b.Algorithm, Fudge: uint16(b.Fudge),
		Time: s.tsigNow(), RequestMAC: b.RequestMAC, TimersOnly: b.TimersOnly})
	if err != nil {
		return nil, tsigFault(err)
	}
	return sdk.TSIGSignResult{Message: msg, MAC: mac}, nil
}

func (s *Server) tsigVerify(c *call) (any, error) {
	var b sdk.TSIGVerifyRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	p, _, err := s.tsigProvider(c, b.KeyName, b.Algorithm)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	if err := m.Unpack(b.Message); err != nil {
		return nil, tsigFault(err)
	}
	t := m.IsTsig()
	if t == nil {
		return nil, fault.New(fault.InvalidArgument, "message carries no TSIG record")
	}
	err = dnstsig.Verify(b.Message, p, b.RequestMAC, b.TimersOnly, s.tsigNow())
	if code := dnstsig.Code(err); code != 0 {
		return sdk.TSIGVerifyResult{TSIGError: dnstsig.CodeName(code)}, nil
	}
	if err != nil {
		return nil, tsigFault(err)
	}
	mac, err := hex.DecodeString(t.MAC)
	return sdk.TSIGVerifyResult{Valid: true, MAC: mac}, err
}
