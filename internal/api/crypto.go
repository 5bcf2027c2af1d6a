package api

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// batchAnswer is the answer to a batch request: one result per item.
type batchAnswer[WireResult any] struct {
	Batch []WireResult `json:"batch"`
}

// batchable is a crypto endpoint that takes one item or a batch of them:
// how a wire request becomes a kms request, the kms calls for one item and
// for a batch, and how a kms result or a failed item becomes a wire result.
type batchable[WireRequest, Request, Result, WireResult any] struct {
	toRequest  func(WireRequest) Request
	single     func(Request) (Result, error)
	batch      func([]Request) ([]kms.Result[Result], error)
	toWire     func(Result) WireResult
	itemFailed func(*sdk.ItemError) WireResult
	// checkBatch bounds a batch; kms.CheckBatch when nil.
	checkBatch func(int) error
}

// serve runs req, or batch when the request had one. A batch answers
// one result per item; an item's error, its decoding's included, fails
// only that item.
func (e batchable[WireRequest, Request, Result, WireResult]) serve(s *Server, c *call, req WireRequest, batch []item[WireRequest]) (any, error) {
	if batch == nil {
		r, err := e.single(e.toRequest(req))
		if err != nil {
			return nil, err
		}
		return e.toWire(r), nil
	}
	check := e.checkBatch
	if check == nil {
		check = kms.CheckBatch
	}
	if err := check(len(batch)); err != nil {
		return nil, err
	}
	var reqs []Request
	for _, it := range batch {
		if it.err == nil {
			reqs = append(reqs, e.toRequest(it.req))
		}
	}
	results, err := e.batch(reqs)
	if err != nil {
		return nil, err
	}
	out := batchAnswer[WireResult]{Batch: make([]WireResult, len(batch))}
	for i, it := range batch {
		if it.err != nil {
			out.Batch[i] = e.itemFailed(s.itemError(c, it.err))
			continue
		}
		r := results[0]
		results = results[1:]
		if r.Err != nil {
			out.Batch[i] = e.itemFailed(s.itemError(c, r.Err))
			continue
		}
		out.Batch[i] = e.toWire(r.Value)
	}
	return out, nil
}

// item is one item of a batch: the request it decodes to, or the error
// its decoding met (bad base64, say), which fails that item alone.
type item[W any] struct {
	req W
	err error
}

// UnmarshalJSON decodes the item and keeps its error; it fails only on
// JSON that is not well formed, which the whole body shares.
func (it *item[W]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&it.req); err != nil {
		it.err = decodeError(err)
	}
	return nil
}

// UnmarshalCBOR is UnmarshalJSON for a CBOR body: a bad item keeps its
// error, and only CBOR that is not well formed fails the whole body.
func (it *item[W]) UnmarshalCBOR(b []byte) error {
	if err := cborDecoding.Unmarshal(b, &it.req); err != nil {
		it.err = cborError(err)
	}
	return nil
}

// request is the decoded request, for checkNamed.
func (it item[W]) request() any { return it.req }

// itemError shows a batch item's error; internal causes are logged only.
func (s *Server) itemError(c *call, err error) *sdk.ItemError {
	code := fault.CodeOf(err)
	msg := "internal error; quote the request id to the operator"
	if fe, ok := fault.As(err); ok {
		msg = fe.Message
	}
	if code == fault.Internal {
		s.log.Error("batch item failed", "request_id", c.id, "error", err)
	}
	return &sdk.ItemError{Code: string(code), Message: msg}
}

func derivation(d *sdk.Derivation) *kms.Derivation {
	if d == nil {
		return nil
	}
	return &kms.Derivation{DeviceID: d.DeviceID, Business: d.Business, Session: d.Session}
}

type encryptBody struct {
	sdk.EncryptRequest
	Batch []item[sdk.EncryptRequest] `json:"batch"`
}

func (s *Server) encrypt(c *call) (any, error) {
	var b encryptBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("plaintext", b.Plaintext)
	return batchable[sdk.EncryptRequest, kms.EncryptRequest, string, sdk.EncryptResult]{
		toRequest: func(w sdk.EncryptRequest) kms.EncryptRequest {
			return kms.EncryptRequest{Plaintext: w.Plaintext, AAD: w.AAD, Version: w.Version, Derivation: derivation(w.Context), SM2Format: kms.SM2Format(w.SM2Format)}
		},
		single: func(q kms.EncryptRequest) (string, error) { return s.keys.Encrypt(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.EncryptRequest) ([]kms.Result[string], error) {
			return s.keys.EncryptBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(ct string) sdk.EncryptResult { return sdk.EncryptResult{Ciphertext: ct} },
		itemFailed: func(e *sdk.ItemError) sdk.EncryptResult { return sdk.EncryptResult{Error: e} },
	}.serve(s, c, b.EncryptRequest, b.Batch)
}

type decryptBody struct {
	sdk.DecryptRequest
	Batch []item[sdk.DecryptRequest] `json:"batch"`
}

func (s *Server) decrypt(c *call) (any, error) {
	var b decryptBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("ciphertext", []byte(b.Ciphertext))
	return batchable[sdk.DecryptRequest, kms.DecryptRequest, []byte, sdk.DecryptResult]{
		toRequest: func(w sdk.DecryptRequest) kms.DecryptRequest {
			return kms.DecryptRequest{Ciphertext: w.Ciphertext, AAD: w.AAD, Derivation: derivation(w.Context)}
		},
		single: func(q kms.DecryptRequest) ([]byte, error) { return s.keys.Decrypt(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.DecryptRequest) ([]kms.Result[[]byte], error) {
			return s.keys.DecryptBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(pt []byte) sdk.DecryptResult { return sdk.DecryptResult{Plaintext: pt} },
		itemFailed: func(e *sdk.ItemError) sdk.DecryptResult { return sdk.DecryptResult{Error: e} },
	}.serve(s, c, b.DecryptRequest, b.Batch)
}

type reencryptBody struct {
	sdk.ReEncryptRequest
	Batch []item[sdk.ReEncryptRequest] `json:"batch"`
}

// reencrypt also needs the encrypt operation on the destination key; all
// items of a batch go to the same destination.
func (s *Server) reencrypt(c *call) (any, error) {
	var b reencryptBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	to := b.ToKey
	if b.Batch != nil {
		to = ""
		for _, it := range b.Batch {
			if to != "" && it.req.ToKey != to {
				return nil, fault.New(fault.InvalidArgument, "all items of a re-encryption batch must name the same to_key")
			}
			to = it.req.ToKey
		}
	}
	if to == "" {
		to = c.object
	}
	return batchable[sdk.ReEncryptRequest, kms.ReEncryptRequest, string, sdk.EncryptResult]{
		toRequest: func(w sdk.ReEncryptRequest) kms.ReEncryptRequest {
			return kms.ReEncryptRequest{Ciphertext: w.Ciphertext, AAD: w.AAD, ToAAD: w.ToAAD, FromDerivation: derivation(w.Context), ToDerivation: derivation(w.ToContext), ToVersion: w.ToVersion, SM2Format: kms.SM2Format(w.SM2Format)}
		},
		single: func(q kms.ReEncryptRequest) (string, error) {
			return s.keys.ReEncrypt(c.ctx, c.tenant, c.object, to, q)
		},
		batch: func(qs []kms.ReEncryptRequest) ([]kms.Result[string], error) {
			return s.keys.ReEncryptBatch(c.ctx, c.tenant, c.object, to, qs)
		},
		toWire:     func(ct string) sdk.EncryptResult { return sdk.EncryptResult{Ciphertext: ct} },
		itemFailed: func(e *sdk.ItemError) sdk.EncryptResult { return sdk.EncryptResult{Error: e} },
	}.serve(s, c, b.ReEncryptRequest, b.Batch)
}

type signBody struct {
	sdk.SignRequest
	Batch []item[sdk.SignRequest] `json:"batch"`
}

func (s *Server) sign(c *call) (any, error) {
	var b signBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("input", b.Input)
	return batchable[sdk.SignRequest, kms.SignRequest, kms.Signature, sdk.SignResult]{
		toRequest: func(w sdk.SignRequest) kms.SignRequest {
			return kms.SignRequest{Input: w.Input, Prehashed: w.Prehashed, UID: uid(w.UID), Version: w.Version}
		},
		single: func(q kms.SignRequest) (kms.Signature, error) { return s.keys.Sign(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.SignRequest) ([]kms.Result[kms.Signature], error) {
			return s.keys.SignBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire: func(r kms.Signature) sdk.SignResult {
			return sdk.SignResult{Signature: r.Signature, KeyVersion: r.Version}
		},
		itemFailed: func(e *sdk.ItemError) sdk.SignResult { return sdk.SignResult{Error: e} },
	}.serve(s, c, b.SignRequest, b.Batch)
}

// uid is nil (the default 1234567812345678) for an empty user id.
func uid(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

type verifyBody struct {
	sdk.VerifyRequest
	Batch []item[sdk.VerifyRequest] `json:"batch"`
}

func validResult(ok bool) sdk.VerifyResult           { return sdk.VerifyResult{Valid: ok} }
func failedVerify(e *sdk.ItemError) sdk.VerifyResult { return sdk.VerifyResult{Error: e} }

func (s *Server) verify(c *call) (any, error) {
	var b verifyBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[sdk.VerifyRequest, kms.VerifyRequest, kms.Verdict, sdk.VerifyResult]{
		toRequest: func(w sdk.VerifyRequest) kms.VerifyRequest {
			return kms.VerifyRequest{Input: w.Input, Signature: w.Signature, Prehashed: w.Prehashed, UID: uid(w.UID), Version: w.Version}
		},
		single: func(q kms.VerifyRequest) (kms.Verdict, error) { return s.keys.Verify(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.VerifyRequest) ([]kms.Result[kms.Verdict], error) {
			return s.keys.VerifyBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(v kms.Verdict) sdk.VerifyResult { return sdk.VerifyResult{Valid: v.Valid, KeyVersion: v.Version} },
		itemFailed: failedVerify,
	}.serve(s, c, b.VerifyRequest, b.Batch)
}

type macBody struct {
	sdk.MACRequest
	Batch []item[sdk.MACRequest] `json:"batch"`
}

func (s *Server) mac(c *call) (any, error) {
	var b macBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("input", b.Input)
	return batchable[sdk.MACRequest, kms.MACRequest, kms.MACResult, sdk.MACResult]{
		toRequest: func(w sdk.MACRequest) kms.MACRequest {
			return kms.MACRequest{Input: w.Input, Version: w.Version, Derivation: derivation(w.Context)}
		},
		single: func(q kms.MACRequest) (kms.MACResult, error) { return s.keys.MAC(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.MACRequest) ([]kms.Result[kms.MACResult], error) {
			return s.keys.MACBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(r kms.MACResult) sdk.MACResult { return sdk.MACResult{MAC: r.MAC, KeyVersion: r.Version} },
		itemFailed: func(e *sdk.ItemError) sdk.MACResult { return sdk.MACResult{Error: e} },
	}.serve(s, c, b.MACRequest, b.Batch)
}

type verifyMACBody struct {
	sdk.VerifyMACRequest
	Batch []item[sdk.VerifyMACRequest] `json:"batch"`
}

func (s *Server) verifyMAC(c *call) (any, error) {
	var b verifyMACBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[sdk.VerifyMACRequest, kms.VerifyMACRequest, bool, sdk.VerifyResult]{
		toRequest: func(w sdk.VerifyMACRequest) kms.VerifyMACRequest {
			return kms.VerifyMACRequest{Input: w.Input, MAC: w.MAC, Version: w.Version, Derivation: derivation(w.Context)}
		},
		single: func(q kms.VerifyMACRequest) (bool, error) { return s.keys.VerifyMAC(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.VerifyMACRequest) ([]kms.Result[bool], error) {
			return s.keys.VerifyMACBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     validResult,
		itemFailed: failedVerify,
	}.serve(s, c, b.VerifyMACRequest, b.Batch)
}

type dataKeyBody struct {
	sdk.DataKeyRequest
	Batch []item[sdk.DataKeyRequest] `json:"batch"`
}

func (s *Server) dataKey(c *call) (any, error) {
	var b dataKeyBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[sdk.DataKeyRequest, kms.DataKeyRequest, kms.DataKey, sdk.DataKeyResult]{
		toRequest: func(w sdk.DataKeyRequest) kms.DataKeyRequest {
			kind := kms.DataKeyKind(w.Kind)
			if kind == "" {
				kind = kms.DataKeySM4
			}
			return kms.DataKeyRequest{Kind: kind, WithPlaintext: !w.WrappedOnly, Version: w.Version, AAD: w.AAD, Derivation: derivation(w.Context), SM2Format: kms.SM2Format(w.SM2Format)}
		},
		single: func(q kms.DataKeyRequest) (kms.DataKey, error) { return s.keys.DataKey(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.DataKeyRequest) ([]kms.Result[kms.DataKey], error) {
			return s.keys.DataKeyBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire: func(d kms.DataKey) sdk.DataKeyResult {
			return sdk.DataKeyResult{Plaintext: d.Plaintext, Ciphertext: d.Wrapped, PublicKey: d.PublicKey}
		},
		itemFailed: func(e *sdk.ItemError) sdk.DataKeyResult { return sdk.DataKeyResult{Error: e} },
	}.serve(s, c, b.DataKeyRequest, b.Batch)
}

type deriveBody struct {
	sdk.DeriveRequest
	Batch []item[sdk.DeriveRequest] `json:"batch"`
}

func (s *Server) derive(c *call) (any, error) {
	var b deriveBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[sdk.DeriveRequest, kms.DeriveRequest, kms.DerivedKey, sdk.DeriveResult]{
		toRequest: func(w sdk.DeriveRequest) kms.DeriveRequest {
			return kms.DeriveRequest{Derivation: *derivation(&w.Derivation), Version: w.Version, WithPlaintext: !w.WrappedOnly}
		},
		single: func(q kms.DeriveRequest) (kms.DerivedKey, error) { return s.keys.Derive(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.DeriveRequest) ([]kms.Result[kms.DerivedKey], error) {
			return s.keys.DeriveBatch(c.ctx, c.tenant, c.object, qs)
		},
		toWire: func(d kms.DerivedKey) sdk.DeriveResult {
			return sdk.DeriveResult{Plaintext: d.Plaintext, Ciphertext: d.Wrapped, KeyVersion: d.Version}
		},
		itemFailed: func(e *sdk.ItemError) sdk.DeriveResult { return sdk.DeriveResult{Error: e} },
	}.serve(s, c, b.DeriveRequest, b.Batch)
}

type hashItem struct {
	Input []byte `json:"input"`
}

type hashBody struct {
	hashItem
	Batch []item[hashItem] `json:"batch"`
}

// hash answers SM3 of {"input"} (or a batch), or of a raw
// application/octet-stream body of any length, read as a stream.
func (s *Server) hash(c *call) (any, error) {
	if isStream(c.r) {
		h := sm3.New()
		if _, err := io.Copy(h, c.r.Body); err != nil {
			return nil, fault.Wrap(err, fault.BadRequest, "reading the request body failed")
		}
		return sdk.HashResult{Hash: h.Sum(nil)}, nil
	}
	var b hashBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	return batchable[hashItem, []byte, []byte, sdk.HashResult]{
		toRequest:  func(w hashItem) []byte { return w.Input },
		single:     func(q []byte) ([]byte, error) { return s.keys.Hash(c.ctx, c.tenant, q) },
		batch:      func(qs [][]byte) ([]kms.Result[[]byte], error) { return s.keys.HashBatch(c.ctx, c.tenant, qs) },
		toWire:     func(h []byte) sdk.HashResult { return sdk.HashResult{Hash: h} },
		itemFailed: func(e *sdk.ItemError) sdk.HashResult { return sdk.HashResult{Error: e} },
	}.serve(s, c, b.hashItem, b.Batch)
}

type randomRequest struct {
	Bytes int `json:"bytes"`
}

type randomAnswer struct {
	Random []byte `json:"random"`
}

func (s *Server) random(c *call) (any, error) {
	var req randomRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	b, err := s.keys.Random(c.ctx, c.tenant, req.Bytes)
	if err != nil {
		return nil, err
	}
	return randomAnswer{Random: b}, nil
}

type zucBody struct {
	sdk.ZUCRequest
	Batch []item[sdk.ZUCRequest] `json:"batch"`
}

func zucRequest(w sdk.ZUCRequest) kms.ZUCRequest {
	return kms.ZUCRequest{
		Count: w.Count, Bearer: w.Bearer, Direction: w.Direction, IV: w.IV,
		Input: w.Input, Bits: w.Bits, MACSize: w.MACSize, Version: w.Version, Derivation: derivation(w.Context),
	}
}

func (s *Server) eea3(c *call) (any, error) {
	var b zucBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("input", b.Input)
	return batchable[sdk.ZUCRequest, kms.ZUCRequest, kms.ZUCResult, sdk.EEA3Result]{
		toRequest: zucRequest,
		single:    func(q kms.ZUCRequest) (kms.ZUCResult, error) { return s.keys.EEA3(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.ZUCRequest) ([]kms.Result[kms.ZUCResult], error) {
			return s.keys.EEA3Batch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(r kms.ZUCResult) sdk.EEA3Result { return sdk.EEA3Result{Output: r.Output, KeyVersion: r.Version} },
		itemFailed: func(e *sdk.ItemError) sdk.EEA3Result { return sdk.EEA3Result{Error: e} },
	}.serve(s, c, b.ZUCRequest, b.Batch)
}

func (s *Server) eia3(c *call) (any, error) {
	var b zucBody
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	c.markSensitive("input", b.Input)
	return batchable[sdk.ZUCRequest, kms.ZUCRequest, kms.ZUCResult, sdk.EIA3Result]{
		toRequest: zucRequest,
		single:    func(q kms.ZUCRequest) (kms.ZUCResult, error) { return s.keys.EIA3(c.ctx, c.tenant, c.object, q) },
		batch: func(qs []kms.ZUCRequest) ([]kms.Result[kms.ZUCResult], error) {
			return s.keys.EIA3Batch(c.ctx, c.tenant, c.object, qs)
		},
		toWire:     func(r kms.ZUCResult) sdk.EIA3Result { return sdk.EIA3Result{MAC: r.MAC, KeyVersion: r.Version} },
		itemFailed: func(e *sdk.ItemError) sdk.EIA3Result { return sdk.EIA3Result{Error: e} },
	}.serve(s, c, b.ZUCRequest, b.Batch)
}
