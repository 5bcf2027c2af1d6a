package cms

import (
	"bytes"
	"testing"

	"github.com/mimacrypto/mima/internal/fault"
)

// seeds returns real structures of every kind the package reads, from a
// fresh environment: a signed document (GM/T 0010 and RFC 5652, one with
// a signature timestamp and a countersignature), an envelope, a
// TimeStampReq and a TimeStampResp.
func seeds(t testing.TB) (e *env, signed [][]byte, envelope, req, resp []byte) {
	t.Helper()
	e = newEnv(t)
	e.root(t, "root")
	e.key(t, "root", "alice")
	bob := e.key(t, "root", "bob", forEncryption)
	e.tsa(t, "root", "tsa")
	gm := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice", TSA: "tsa"}, Content: []byte("seed")})
	countered, err := e.s.CounterSign(ctx, tenant, CounterSignRequest{SignerOptions: SignerOptions{Key: "alice"}, CMS: gm})
	if err != nil {
		t.Fatal(err)
	}
	rfc := e.sign(t, SignRequest{SignerOptions: SignerOptions{Key: "alice"}, Content: []byte("seed"), RFC5652: true, Detached: true})
	envelope, err = e.s.Encrypt(EnvelopeRequest{Recipients: []string{bob.PEM()}, Content: []byte("seed")})
	if err != nil {
		t.Fatal(err)
	}
	req = query(t, []byte("seed"))
	if resp, err = e.s.Timestamp(ctx, tenant, "tsa", req); err != nil {
		t.Fatal(err)
	}
	return e, [][]byte{countered, rfc}, envelope, req, resp
}

func addAll(f *testing.F, ins ...[]byte) {
	for _, in := range ins {
		f.Add(in)
		f.Add(toBER(f, in))
	}
}

// FuzzToDER: BER to DER never panics, and DER stays as it is.
func FuzzToDER(f *testing.F) {
	_, signed, envelope, req, resp := seeds(f)
	addAll(f, append(signed, envelope, req, resp)...)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := toDER(in)
		if err != nil {
			return
		}
		again, err := toDER(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Errorf("toDER is not idempotent on %x: %x, %v", out, again, err)
		}
	})
}

// FuzzVerify: any input to Verify is a report or a coded error, never a
// panic; a report is valid only for inputs that are the seeds' DER.
func FuzzVerify(f *testing.F) {
	e, signed, envelope, _, resp := seeds(f)
	addAll(f, append(signed, envelope, resp)...)
	f.Fuzz(func(t *testing.T, in []byte) {
		p, perr := parseSignedData(in)
		r, err := e.s.Verify(ctx, tenant, VerifyRequest{CMS: in, Content: detachedContent(p)})
		switch {
		case perr != nil:
			wantCode(t, "unparsable", err, fault.CMSMalformed)
		case err != nil:
			if _, ok := fault.As(err); !ok {
				t.Errorf("uncoded error %v", err)
			}
		case len(r.Signers) != len(p.signers):
			t.Errorf("%d signer reports for %d signers", len(r.Signers), len(p.signers))
		}
	})
}

func detachedContent(p *parsedSignedData) []byte {
	if p != nil && p.detached {
		return []byte("seed")
	}
	return nil
}

// FuzzParseEnvelopedData: the envelope parser never panics, and only
// passes whole SM4 blocks with a 16-byte IV to gmsm (whose CBC mode
// panics otherwise).
func FuzzParseEnvelopedData(f *testing.F) {
	e, _, envelope, _, _ := seeds(f)
	addAll(f, envelope)
	f.Fuzz(func(t *testing.T, in []byte) {
		ed, ct, err := parseEnvelopedData(in)
		if err != nil {
			return
		}
		if len(ct) == 0 || len(ct)%16 != 0 || ed == nil {
			t.Errorf("ciphertext of %d bytes passed", len(ct))
		}
		if _, err := e.s.Decrypt(ctx, tenant, DecryptRequest{CMS: in, Key: "bob"}); err != nil && !fault.Is(err, fault.DecryptFailed) {
			t.Errorf("decrypt: %v", err)
		}
	})
}

// FuzzTimestamp: the TSA answers anything with a TimeStampResp and no
// error; a grant only for a request that parses.
func FuzzTimestamp(f *testing.F) {
	e, signed, _, req, _ := seeds(f)
	addAll(f, req, signed[0])
	f.Fuzz(func(t *testing.T, in []byte) {
		q, rej := parseTimeStampReq(in)
		if (q == nil) == (rej == nil) {
			t.Fatalf("query %v and rejection %v", q, rej)
		}
		der, err := e.s.Timestamp(ctx, tenant, "tsa", in)
		if err != nil {
			t.Fatalf("error for user input: %v", err)
		}
		var resp timeStampResp
		if err := unmarshalAll(der, &resp); err != nil {
			t.Fatalf("response does not parse: %v", err)
		}
		if granted := resp.Status.Status == statusGranted; granted != (q != nil && (q.policy == nil || bytes.Equal(q.policy, mustPolicy(t)))) {
			t.Errorf("status %d for query %+v, rejection %+v", resp.Status.Status, q, rej)
		}
	})
}

func mustPolicy(t testing.TB) []byte {
	der, err := encodeOID(DefaultPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// FuzzVerifyTimestamp: TimeStampResp and token parsing never panic, and
// a token that parses gets a report.
func FuzzVerifyTimestamp(f *testing.F) {
	e, _, _, _, resp := seeds(f)
	addAll(f, resp)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := e.s.VerifyTimestamp(ctx, tenant, TimestampVerifyRequest{Token: in, Data: []byte("seed")})
		if err != nil {
			wantCode(t, "bad token", err, fault.CMSMalformed)
			return
		}
		if r.Valid && len(r.Reasons) > 0 {
			t.Errorf("valid with reasons %v", r.Reasons)
		}
	})
}
