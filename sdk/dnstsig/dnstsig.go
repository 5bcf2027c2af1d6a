// Package dnstsig signs and verifies DNS messages with TSIG (RFC 8945)
// and HMAC-SM3 keys that never leave mima. It builds on
// github.com/miekg/dns: Provider is a dns.TsigProvider that computes each
// MAC through the mima API, so a dns.Server, dns.Client or dns.Transfer
// given it signs and checks TSIG records, multi-message zone transfers
// included (RFC 8945 section 5.3.1), while the key stays in mima.
//
//	p := dnstsig.New(ctx, client, nil) // TSIG key "k1." is mima key "k1"
//	t := &dns.Transfer{TsigProvider: p}
//
// The algorithm name is Algorithm ("hmac-sm3."); set MACProvider.Algorithm
// to use another name agreed with the peer.
package dnstsig

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/mimacrypto/mima/sdk"
)

// Algorithm is the TSIG algorithm name of HMAC-SM3 that mima uses unless
// told otherwise. No name is registered with IANA for HMAC-SM3; this one
// follows the form of the registered hmac-sha256.
const Algorithm = "hmac-sm3."

// DefaultFudge is the permitted clock difference in seconds that RFC 8945
// recommends (section 10).
const DefaultFudge = 300

// ErrReplay is a request whose MAC a Guard has already accepted within
// its time window; it is answered with BADTIME.
var ErrReplay = errors.New("dnstsig: replayed request (its MAC was already accepted)")

// PeerError is the TSIG error a peer answered with (RFC 8945 section 5.3.2).
type PeerError struct {
	Code uint16 // dns.RcodeBadSig, dns.RcodeBadKey, dns.RcodeBadTime, ...
}

func (e *PeerError) Error() string {
	return "the peer refused the TSIG with " + CodeName(e.Code)
}

// Code is the TSIG error (RFC 8945 section 5.2) that err stands for:
// dns.RcodeBadKey for an unknown key or algorithm, dns.RcodeBadSig for a
// MAC that does not match, dns.RcodeBadTime for a time outside the fudge
// or a replay, a PeerError's code; 0 for other errors.
func Code(err error) uint16 {
	var pe *PeerError
	switch {
	case errors.As(err, &pe):
		return pe.Code
	case errors.Is(err, dns.ErrSecret), errors.Is(err, dns.ErrKeyAlg):
		return dns.RcodeBadKey
	case errors.Is(err, dns.ErrSig):
		return dns.RcodeBadSig
	case errors.Is(err, dns.ErrTime), errors.Is(err, ErrReplay):
		return dns.RcodeBadTime
	}
	return 0
}

// CodeName is the mnemonic of a TSIG error code, such as "BADSIG".
func CodeName(code uint16) string {
	if s, ok := dns.RcodeToString[int(code)]; ok {
		return s
	}
	return fmt.Sprintf("TSIG error %d", code)
}

// MACProvider is a dns.TsigProvider over a function that computes the
// HMAC-SM3 of its input under the key a TSIG record names. A record
// naming another algorithm than Algorithm ("" for the package's) is
// ErrKeyAlg (BADKEY); MAC returns dns.ErrSecret for an unknown key name.
type MACProvider struct {
	MAC       func(keyName string, input []byte) ([]byte, error)
	Algorithm string
}

func (p *MACProvider) algorithm() string {
	if p.Algorithm == "" {
		return Algorithm
	}
	return dns.CanonicalName(p.Algorithm)
}

// Generate implements dns.TsigProvider.
func (p *MACProvider) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if dns.CanonicalName(t.Algorithm) != p.algorithm() {
		return nil, dns.ErrKeyAlg
	}
	return p.MAC(dns.CanonicalName(t.Hdr.Name), msg)
}

// Verify implements dns.TsigProvider. A TSIG record carrying an error
// (an answer refusing our request) is a PeerError.
func (p *MACProvider) Verify(msg []byte, t *dns.TSIG) error {
	if t.Error != dns.RcodeSuccess {
		return &PeerError{Code: t.Error}
	}
	want, err := p.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, want) {
		return dns.ErrSig
	}
	return nil
}

// New returns a Provider computing MACs with client. keys maps TSIG key
// names (lower case, with the final dot) to mima key names; nil maps a
// TSIG key name to the mima key of that name without its final dot. The
// keys are hmac-sm3 keys. ctx bounds every API call the provider makes.
func New(ctx context.Context, client *sdk.Client, keys map[string]string) *MACProvider {
	return &MACProvider{MAC: func(keyName string, input []byte) ([]byte, error) {
		key, ok := strings.TrimSuffix(keyName, "."), true
		if keys != nil {
			key, ok = keys[keyName]
		}
		if !ok {
			return nil, dns.ErrSecret
		}
		r, err := client.Crypto().MAC(ctx, key, sdk.MACRequest{Input: input})
		if errors.Is(err, sdk.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: %w", dns.ErrSecret, err)
		}
		return r.MAC, err
	}}
}

// Options are the TSIG record's fields and the multi-message state of a
// signature made by Sign.
type Options struct {
	KeyName    string    // the TSIG record's owner name
	Algorithm  string    // "" for Algorithm
	Fudge      uint16    // 0 for DefaultFudge
	Time       time.Time // time signed; zero for now
	Error      uint16    // the TSIG error of an answer refusing a request
	RequestMAC []byte    // the request's MAC (answers) or the previous message's (RFC 8945 5.3.1)
	TimersOnly bool      // digest only the timers (messages after the first of a multi-message answer)
}

// Sign adds a TSIG record to the wire message msg, replacing one it ends
// with, and returns the signed message and its MAC.
func Sign(msg []byte, p dns.TsigProvider, o Options) ([]byte, []byte, error) {
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil {
		return nil, nil, fmt.Errorf("dnstsig: the message does not parse: %w", err)
	}
	if m.IsTsig() != nil {
		m.Extra = m.Extra[:len(m.Extra)-1]
	}
	alg, fudge, now := o.Algorithm, o.Fudge, o.Time
	if alg == "" {
		alg = Algorithm
	}
	if fudge == 0 {
		fudge = DefaultFudge
	}
	if now.IsZero() {
		now = time.Now()
	}
	m.SetTsig(dns.CanonicalName(o.KeyName), dns.CanonicalName(alg), fudge, now.Unix())
	m.Extra[len(m.Extra)-1].(*dns.TSIG).Error = o.Error
	out, mac, err := dns.TsigGenerateWithProvider(m, p, hex.EncodeToString(o.RequestMAC), o.TimersOnly)
	if err != nil {
		return nil, nil, err
	}
	raw, err := hex.DecodeString(mac)
	return out, raw, err
}

// Verify checks the TSIG of the wire message msg with p at time now: the
// MAC first, then the time (RFC 8945 section 5.2). The error is dns.ErrNoSig
// for a message without TSIG, and otherwise one Code maps to its TSIG
// error.
func Verify(msg []byte, p dns.TsigProvider, requestMAC []byte, timersOnly bool, now time.Time) error {
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil {
		return err
	}
	t := m.IsTsig()
	if t == nil {
		return dns.ErrNoSig
	}
	// dns rewrites the header of the buffer it verifies.
	err := dns.TsigVerifyWithProvider(bytes.Clone(msg), p, hex.EncodeToString(requestMAC), timersOnly)
	if err != nil && !errors.Is(err, dns.ErrTime) {
		return err
	}
	// The MAC is good; judge the time by now, not by this machine's clock.
	if skew := now.Unix() - int64(t.TimeSigned); skew > int64(t.Fudge) || -skew > int64(t.Fudge) {
		return dns.ErrTime
	}
	return nil
}

// Guard wraps the TsigProvider of a server to refuse replayed requests: a
// request whose MAC it has already accepted, while that MAC's time is
// within its fudge, is ErrReplay (BADTIME). Requests outside the fudge
// are BADTIME anyway, so Guard forgets MACs once their window has passed.
type Guard struct {
	dns.TsigProvider
	Now func() time.Time // nil for time.Now

	mu   sync.Mutex
	seen map[string]int64 // MAC → the end of its time window (Unix seconds)
}

// Verify implements dns.TsigProvider.
func (g *Guard) Verify(msg []byte, t *dns.TSIG) error {
	if err := g.TsigProvider.Verify(msg, t); err != nil {
		return err
	}
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	sec := now().Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string]int64{}
	}
	if end, ok := g.seen[t.MAC]; ok && end >= sec {
		return ErrReplay
	}
	for mac, end := range g.seen {
		if end < sec {
			delete(g.seen, mac)
		}
	}
	g.seen[t.MAC] = int64(t.TimeSigned) + int64(t.Fudge)
	return nil
}

// Refusal is a server's answer to request r whose TSIG failed with err
// (RFC 8945 section 5.3.2): NOTAUTH with the TSIG error in an unsigned
// TSIG record, or for BADTIME one the server signs, carrying the request's
// time and the server's own (now) in Other Data. Write it with the
// dns.ResponseWriter that received r.
func Refusal(r *dns.Msg, err error, now time.Time) *dns.Msg {
	m := new(dns.Msg).SetRcode(r, dns.RcodeNotAuth)
	t := r.IsTsig()
	if t == nil {
		return m.SetRcode(r, dns.RcodeFormatError)
	}
	m.SetTsig(t.Hdr.Name, t.Algorithm, t.Fudge, int64(t.TimeSigned))
	answer := m.Extra[0].(*dns.TSIG)
	answer.Error = Code(err)
	if answer.Error == 0 {
		answer.Error = dns.RcodeBadSig
	}
	if answer.Error == dns.RcodeBadTime {
		var other [8]byte
		binary.BigEndian.PutUint64(other[:], uint64(now.Unix()))
		answer.OtherData, answer.OtherLen = hex.EncodeToString(other[2:]), 6
	}
	return m
}

// TransferChunk is the number of records ServeTransfer puts in a message.
const TransferChunk = 1000

// ServeTransfer answers the AXFR or IXFR request r on w, the writer of a
// dns.Server whose TsigProvider holds the key, with rrs (the records in
// the order of the answer) in messages of TransferChunk records, each
// signed (RFC 8945 section 5.3.1). A request without TSIG is refused
// (REFUSED), one whose TSIG failed gets Refusal. It returns when the
// answer is written or the client has gone.
func ServeTransfer(w dns.ResponseWriter, r *dns.Msg, rrs []dns.RR) error {
	if r.IsTsig() == nil {
		return w.WriteMsg(new(dns.Msg).SetRcode(r, dns.RcodeRefused))
	}
	if err := w.TsigStatus(); err != nil {
		return w.WriteMsg(Refusal(r, err, time.Now()))
	}
	ch := make(chan *dns.Envelope)
	done := make(chan error, 1)
	go func() { done <- new(dns.Transfer).Out(w, r, ch) }()
	for len(rrs) > 0 {
		k := min(len(rrs), TransferChunk)
		select {
		case ch <- &dns.Envelope{RR: rrs[:k]}:
		case err := <-done: // the client hung up
			close(ch)
			return err
		}
		rrs = rrs[k:]
	}
	close(ch)
	return <-done
}

// Transfer fetches zone from the primary server (host:port) by AXFR, or by
// IXFR from serial when serial is not 0, with a request signed by p under
// o, and checks the TSIG of every message of the answer (RFC 8945 section
// 5.3.1: the first against the request's MAC, each later one against the
// previous message's MAC and the timers): a message without TSIG, with a
// bad MAC or outside the fudge ends the transfer with an error that Code
// maps to its TSIG error, as does a refusal from the server (a
// PeerError). It returns the records in the order received and the
// number of messages.
func Transfer(ctx context.Context, server, zone string, serial uint32, p dns.TsigProvider, o Options) ([]dns.RR, int, error) {
	q := new(dns.Msg)
	if serial == 0 {
		q.SetAxfr(dns.Fqdn(zone))
	} else {
		q.SetIxfr(dns.Fqdn(zone), serial, ".", ".")
	}
	wire, err := q.Pack()
	if err != nil {
		return nil, 0, err
	}
	request, mac, err := Sign(wire, p, o)
	if err != nil {
		return nil, 0, fmt.Errorf("dnstsig: sign the transfer request: %w", err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, 0, fmt.Errorf("dnstsig: connect to %s: %w", server, err)
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { nc.Close() })()
	conn := &dns.Conn{Conn: nc}
	if _, err := conn.Write(request); err != nil {
		return nil, 0, fmt.Errorf("dnstsig: send the transfer request: %w", err)
	}
	var rrs []dns.RR
	var x ending
	buf := make([]byte, dns.MaxMsgSize)
	for n := 0; ; n++ {
		size, err := conn.Read(buf)
		if err != nil {
			return rrs, n, fmt.Errorf("dnstsig: transfer of %s, message %d: %w", zone, n+1, errors.Join(err, ctx.Err()))
		}
		msg := buf[:size]
		m := new(dns.Msg)
		if err := m.Unpack(msg); err != nil {
			return rrs, n, fmt.Errorf("dnstsig: transfer of %s, message %d: %w", zone, n+1, err)
		}
		if t := m.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			return rrs, n, fmt.Errorf("dnstsig: transfer of %s: %w", zone, &PeerError{Code: t.Error})
		}
		if err := Verify(msg, p, mac, n > 0, time.Now()); err != nil {
			return rrs, n, fmt.Errorf("dnstsig: transfer of %s, message %d: %w", zone, n+1, err)
		}
		mac, _ = hex.DecodeString(m.IsTsig().MAC)
		if m.Id != q.Id || m.Rcode != dns.RcodeSuccess {
			return rrs, n, fmt.Errorf("dnstsig: transfer of %s, message %d: id %d, rcode %s", zone, n+1, m.Id, dns.RcodeToString[m.Rcode])
		}
		rrs = append(rrs, m.Answer...)
		done, err := x.after(m.Answer, serial)
		if err != nil || done {
			return rrs, n + 1, err
		}
	}
}

// ending follows the SOA records of an AXFR or IXFR answer to find its
// end, as RFC 5936 and RFC 1995 define it.
type ending struct {
	serial uint32 // the zone's serial: the first SOA's
	seen   int    // SOA records with that serial
	ixfr   bool   // an SOA of another serial came: an incremental answer
}

// after takes the records of the next message and reports whether the
// answer is complete.
func (x *ending) after(rrs []dns.RR, from uint32) (bool, error) {
	for _, rr := range rrs {
		soa, ok := rr.(*dns.SOA)
		if x.seen == 0 {
			if !ok {
				return false, errors.New("dnstsig: the answer does not begin with the zone's SOA")
			}
			x.serial = soa.Serial
			if from != 0 && from >= soa.Serial {
				return true, nil // up to date
			}
		}
		switch {
		case !ok:
		case soa.Serial == x.serial:
			x.seen++
			if x.seen == 2 && !x.ixfr || x.seen == 3 {
				return true, nil
			}
		default:
			x.ixfr = true
		}
	}
	return false, nil
}
