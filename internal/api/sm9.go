package api

import (
	"net/http"
	"strconv"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
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
	return batchable[sdk.SM9ExtractRequest, sm9.ExtractRequest, sm9.Extracted, sdk.SM9Extracted]{
		toRequest: func(w sdk.SM9ExtractRequest) sm9.ExtractRequest {
			d := sm9.Delivery{Hosted: w.Deliver.Hosted, SM2PublicKey: w.Deliver.SM2PublicKey}
			if w.Deliver.Password != "" {
				d.Password = []byte(w.Deliver.Password)
			}
			return sm9.ExtractRequest{ID: w.ID, HID: w.HID, Deliver: d}
		},
		single: func(q sm9.ExtractRequest) (sm9.Extracted, error) { return s.sm9.Extract(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []sm9.ExtractRequest) ([]kms.Result[sm9.Extracted], error) {
			return s.sm9.ExtractBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire: func(x sm9.Extracted) sdk.SM9Extracted {
			return sdk.SM9Extracted{ID: x.ID, Key: x.Key, Envelope: x.Envelope, Sealed: x.Sealed, MasterVersion: x.MasterVersion}
		},
		itemFailed: func(e *sdk.ItemError) sdk.SM9Extracted { return sdk.SM9Extracted{Error: e} },
	}.serve(s, c, b.SM9ExtractRequest, b.Batch)
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
	}.serve(s, c, b.SM9VerifyRequest, b.Batch)
}

func (s *Server) sm9Encrypt(c *call) (any, error) {
	var b sdk.SM9EncryptRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("plaintext", b.Plaintext)
	var mode device.SM9Mode
	switch b.Mode {
	case "", "xor":
		mode = device.SM9XOR
	case "sm4-cbc":
		mode = device.SM9SM4CBC
	default:
		return nil, fault.New(fault.InvalidArgument, "mode must be xor or sm4-cbc")
	}
	ct, err := s.sm9.Encrypt(c.ctx, c.tenant, c.object, sm9.EncryptRequest{ID: b.ID, Plaintext: b.Plaintext, Mode: mode, HID: b.HID})
	if err != nil {
		return nil, err
	}
	return sdk.SM9EncryptResult{Ciphertext: ct}, nil
}

func (s *Server) sm9Decrypt(c *call) (any, error) {
	var b sdk.SM9DecryptRequest
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	pt, err := s.sm9.Decrypt(c.ctx, c.tenant, c.object, sm9.DecryptRequest{ID: b.ID, Ciphertext: b.Ciphertext, HID: b.HID})
	if err != nil {
		return nil, err
	}
	c.markSensitive("plaintext", pt)
	return sdk.SM9DecryptResult{Plaintext: pt}, nil
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
