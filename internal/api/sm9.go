package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/sdk"
)

// SM9 routes: the KGC is the key in the path ({name}); identities are
// values of the body, not objects.

type sm9ExtractBody struct {
	sdk.SM9ExtractRequest
	Batch []item[sdk.SM9ExtractRequest] `json:"batch"`
}

func (s *Server) sm9Extract(c *call) (any, error) {
	var b sm9ExtractBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if b.Deliver.Password != "" {
		c.markSensitive("password", []byte(b.Deliver.Password))
	}
	for i, it := range b.Batch {
		if it.req.Deliver.Password != "" {
			c.markSensitive("batch["+strconv.Itoa(i)+"].password", []byte(it.req.Deliver.Password))
		}
	}
	if b.Batch != nil && strings.Contains(c.r.Header.Get("Accept"), sdk.MediaJSONLines) {
		return s.sm9ExtractStream(c, b.Batch)
	}
	return batchable[sdk.SM9ExtractRequest, sm9.ExtractRequest, sm9.Extracted, sdk.SM9Extracted]{
		toRequest: sm9ExtractRequestOf,
		single:    func(q sm9.ExtractRequest) (sm9.Extracted, error) { return s.sm9.Extract(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.ExtractRequest) ([]kms.Result[sm9.Extracted], error) {
			return s.sm9.ExtractBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     sm9ExtractedOf,
		itemFailed: func(e *sdk.ItemError) sdk.SM9Extracted { return sdk.SM9Extracted{Error: e} },
		checkBatch: sm9.CheckBatch,
	}.serve(s, c, b.SM9ExtractRequest, b.Batch)
}

func sm9ExtractRequestOf(w sdk.SM9ExtractRequest) sm9.ExtractRequest {
	d := sm9.Delivery{Hosted: w.Deliver.Hosted, SM2PublicKey: w.Deliver.SM2PublicKey}
	if w.Deliver.Password != "" {
		d.Password = []byte(w.Deliver.Password)
	}
	return sm9.ExtractRequest{ID: w.ID, HID: w.HID, Deliver: d}
}

func sm9ExtractedOf(x sm9.Extracted) sdk.SM9Extracted {
	return sdk.SM9Extracted{ID: x.ID, Key: x.Key, Envelope: x.Envelope, Sealed: x.Sealed, MasterVersion: x.MasterVersion}
}

// sm9ExtractStream answers an extraction batch asked with Accept:
// application/x-ndjson as JSON lines, one SM9Extracted per item in order,
// each flushed as soon as it is ready: an enrolment of thousands of
// terminals starts delivering at once and neither side holds the whole
// answer. Errors of the whole batch (an unknown KGC, too many items) come
// before the stream as usual; an item's error is its line's "error".
func (s *Server) sm9ExtractStream(c *call, batch []item[sdk.SM9ExtractRequest]) (any, error) {
	var reqs []sm9.ExtractRequest
	for _, it := range batch {
		if it.err == nil {
			reqs = append(reqs, sm9ExtractRequestOf(it.req))
		}
	}
	run, err := s.sm9.ExtractStream(c.ctx, c.tenant, c.object, reqs)
	if err != nil {
		return nil, err
	}
	return stream{contentType: sdk.MediaJSONLines, write: func(w io.Writer) error {
		enc := json.NewEncoder(w)
		next := 0 // the next item of batch to write
		// failed writes the items that failed decoding, up to the next
		// item that run computes.
		failed := func() error {
			for ; next < len(batch) && batch[next].err != nil; next++ {
				if err := enc.Encode(sdk.SM9Extracted{Error: s.itemError(c, batch[next].err)}); err != nil {
					return err
				}
			}
			return nil
		}
		if err := failed(); err != nil {
			return err
		}
		return run(func(r kms.Result[sm9.Extracted]) error {
			var x sdk.SM9Extracted
			if r.Err != nil {
				x.Error = s.itemError(c, r.Err)
			} else {
				x = sm9ExtractedOf(r.Value)
			}
			if err := enc.Encode(x); err != nil {
				return err
			}
			next++
			if err := failed(); err != nil {
				return err
			}
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			return nil
		})
	}}, nil
}

type sm9SignBody struct {
	sdk.SM9SignRequest
	Batch []item[sdk.SM9SignRequest] `json:"batch"`
}

func (s *Server) sm9Sign(c *call) (any, error) {
	var b sm9SignBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("input", b.Input)
	return batchable[sdk.SM9SignRequest, sm9.SignRequest, []byte, sdk.SM9SignResult]{
		toRequest: func(w sdk.SM9SignRequest) sm9.SignRequest {
			return sm9.SignRequest{ID: w.ID, Input: w.Input, HID: w.HID}
		},
		single: func(q sm9.SignRequest) ([]byte, error) { return s.sm9.Sign(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.SignRequest) ([]kms.Result[[]byte], error) {
			return s.sm9.SignBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(sig []byte) sdk.SM9SignResult { return sdk.SM9SignResult{Signature: sig} },
		itemFailed: func(e *sdk.ItemError) sdk.SM9SignResult { return sdk.SM9SignResult{Error: e} },
		checkBatch: sm9.CheckBatch,
	}.serve(s, c, b.SM9SignRequest, b.Batch)
}

type sm9VerifyBody struct {
	sdk.SM9VerifyRequest
	Batch []item[sdk.SM9VerifyRequest] `json:"batch"`
}

// sm9Verify serves the tenant route and, through publicTenant, the public
// one that devices call without a token.
func (s *Server) sm9Verify(c *call) (any, error) {
	var b sm9VerifyBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[sdk.SM9VerifyRequest, sm9.VerifyRequest, sm9.Verdict, sdk.SM9VerifyResult]{
		toRequest: func(w sdk.SM9VerifyRequest) sm9.VerifyRequest {
			return sm9.VerifyRequest{ID: w.ID, Input: w.Input, Signature: w.Signature, HID: w.HID, Version: w.Version}
		},
		single: func(q sm9.VerifyRequest) (sm9.Verdict, error) { return s.sm9.Verify(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.VerifyRequest) ([]kms.Result[sm9.Verdict], error) {
			return s.sm9.VerifyBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire: func(v sm9.Verdict) sdk.SM9VerifyResult {
			return sdk.SM9VerifyResult{Valid: v.Valid, Reason: string(v.Reason)}
		},
		itemFailed: func(e *sdk.ItemError) sdk.SM9VerifyResult { return sdk.SM9VerifyResult{Error: e} },
		checkBatch: sm9.CheckBatch,
	}.serve(s, c, b.SM9VerifyRequest, b.Batch)
}

type sm9EncryptBody struct {
	sdk.SM9EncryptRequest
	Batch []item[sdk.SM9EncryptRequest] `json:"batch"`
}

func (s *Server) sm9Encrypt(c *call) (any, error) {
	var b sm9EncryptBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("plaintext", b.Plaintext)
	return batchable[sdk.SM9EncryptRequest, sm9.EncryptRequest, []byte, sdk.SM9EncryptResult]{
		toRequest: func(w sdk.SM9EncryptRequest) sm9.EncryptRequest {
			return sm9.EncryptRequest{ID: w.ID, Plaintext: w.Plaintext, Mode: sm9Mode(w.Mode), HID: w.HID}
		},
		single: func(q sm9.EncryptRequest) ([]byte, error) { return s.sm9.Encrypt(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.EncryptRequest) ([]kms.Result[[]byte], error) {
			return s.sm9.EncryptBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(ct []byte) sdk.SM9EncryptResult { return sdk.SM9EncryptResult{Ciphertext: ct} },
		itemFailed: func(e *sdk.ItemError) sdk.SM9EncryptResult { return sdk.SM9EncryptResult{Error: e} },
		checkBatch: sm9.CheckBatch,
	}.serve(s, c, b.SM9EncryptRequest, b.Batch)
}

// sm9Mode reads the wire name of an SM9 encryption mode: "xor" (or none)
// or "sm4-cbc"; any other is a mode that sm9.EncryptBatch refuses, in its
// item only.
func sm9Mode(m string) device.SM9Mode {
	switch m {
	case "", "xor":
		return device.SM9XOR
	case "sm4-cbc":
		return device.SM9SM4CBC
	}
	return device.SM9Mode(0xff)
}

type sm9DecryptBody struct {
	sdk.SM9DecryptRequest
	Batch []item[sdk.SM9DecryptRequest] `json:"batch"`
}

func (s *Server) sm9Decrypt(c *call) (any, error) {
	var b sm9DecryptBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	out, err := batchable[sdk.SM9DecryptRequest, sm9.DecryptRequest, []byte, sdk.SM9DecryptResult]{
		toRequest: func(w sdk.SM9DecryptRequest) sm9.DecryptRequest {
			return sm9.DecryptRequest{ID: w.ID, Ciphertext: w.Ciphertext, HID: w.HID}
		},
		single: func(q sm9.DecryptRequest) ([]byte, error) { return s.sm9.Decrypt(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.DecryptRequest) ([]kms.Result[[]byte], error) {
			return s.sm9.DecryptBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(pt []byte) sdk.SM9DecryptResult { return sdk.SM9DecryptResult{Plaintext: pt} },
		itemFailed: func(e *sdk.ItemError) sdk.SM9DecryptResult { return sdk.SM9DecryptResult{Error: e} },
		checkBatch: sm9.CheckBatch,
	}.serve(s, c, b.SM9DecryptRequest, b.Batch)
	if r, ok := out.(sdk.SM9DecryptResult); ok {
		c.markSensitive("plaintext", r.Plaintext)
	}
	return out, err
}

// sm9Encapsulate hands a fresh key and its encapsulation to the caller,
// who sends the encapsulation to the identity.
func (s *Server) sm9Encapsulate(c *call) (any, error) {
	var b sdk.SM9EncapsulateRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	key, enc, err := s.sm9.Encapsulate(c.ctx, c.tenant, c.object, b.ID, b.HID, b.Length)
	if err != nil {
		return nil, err
	}
	c.markSensitive("key", key)
	return sdk.SM9Encapsulated{Key: key, Encapsulation: enc}, nil
}

func (s *Server) sm9Decapsulate(c *call) (any, error) {
	var b sdk.SM9DecapsulateRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	key, err := s.sm9.Decapsulate(c.ctx, c.tenant, c.object, b.ID, b.HID, b.Encapsulation, b.Length)
	if err != nil {
		return nil, err
	}
	c.markSensitive("key", key)
	return sdk.SM9DecapsulateResult{Key: key}, nil
}

// sm9Exchange answers, as a hosted identity, a key exchange that a device
// started (the device runs the initiator's side, sdk/sm9dev).
func (s *Server) sm9Exchange(c *call) (any, error) {
	var b sdk.SM9ExchangeRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	rb, sb, key, err := s.sm9.Exchange(c.ctx, c.tenant, c.object, b.ID, b.Peer, b.RA, b.Length)
	if err != nil {
		return nil, err
	}
	c.markSensitive("key", key)
	return sdk.SM9ExchangeResult{RB: rb, SB: sb, Key: key}, nil
}

func (s *Server) sm9Revoke(c *call) (any, error) {
	var b sdk.SM9RevokeRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	if err := s.sm9.Revoke(c.ctx, c.tenant, c.object, b.IDs); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}

// sm9Public answers a KGC's master public key in PEM.
func (s *Server) sm9Public(c *call) (any, error) {
	pk, err := s.sm9.PublicKey(c.ctx, c.tenant, c.object, 0)
	if err != nil {
		return nil, err
	}
	return raw{contentType: "application/x-pem-file", body: []byte(pk.PEM)}, nil
}

func (s *Server) sm9RevocationList(c *call) (any, error) {
	l, err := s.sm9.RevocationList(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return sdk.SM9RevocationList{Body: l.Body, Signer: l.Signer, Signature: l.Signature}, nil
}
