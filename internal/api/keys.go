package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

// keyOf shows a key as the API does: metadata and versions, no material.
func keyOf(k kms.KeyInfo) sdk.Key {
	out := sdk.Key{
		Name: k.Name, Type: sdk.KeyType(k.Type), Description: k.Description, Tags: k.Tags,
		Exportable: k.Exportable, Derived: k.Derived, State: sdk.KeyState(k.State),
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, DeletionDate: k.DeletionDate,
		NextRotation: k.NextRotation, LatestVersion: k.LatestVersion,
		MinDecryptionVersion: k.MinDecryptionVersion, MinEncryptionVersion: k.MinEncryptionVersion,
		Versions: make([]sdk.KeyVersion, len(k.Versions)), Device: k.Device,
	}
	if k.AutoRotatePeriod > 0 {
		out.AutoRotatePeriod = k.AutoRotatePeriod.String()
	}
	for i, v := range k.Versions {
		out.Versions[i] = sdk.KeyVersion{Version: v.Version, CreatedAt: v.CreatedAt, Imported: v.Imported, Encryptions: v.Encryptions}
	}
	return out
}

// keyResult converts a key-returning service call.
func keyResult(k kms.KeyInfo, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return keyOf(k), nil
}

func (s *Server) createKey(c *call) (any, error) {
	var req sdk.CreateKeyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	period, err := durationOf("auto_rotate_period", req.AutoRotatePeriod)
	if err != nil {
		return nil, err
	}
	k, err := s.keys.Create(c.ctx, c.tenant, kms.CreateRequest{
		Name: req.Name, Type: device.KeyType(req.Type), Description: req.Description, Tags: req.Tags,
		Exportable: req.Exportable, Derived: req.Derived, AutoRotatePeriod: period, Device: req.Device,
	})
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return keyOf(k), nil
}

func (s *Server) listKeys(c *call) (any, error) {
	q := c.r.URL.Query()
	limit, err := c.limit()
	if err != nil {
		return nil, err
	}
	opts := kms.ListOptions{After: q.Get("after"), Limit: limit, Type: device.KeyType(q.Get("type")), State: kms.State(q.Get("state"))}
	for _, t := range q["tag"] {
		name, value, ok := strings.Cut(t, "=")
		if !ok {
			return nil, fault.New(fault.InvalidArgument, "tag filters are name=value")
		}
		if opts.Tags == nil {
			opts.Tags = map[string]string{}
		}
		opts.Tags[name] = value
	}
	page, err := s.keys.List(c.ctx, c.tenant, opts)
	if err != nil {
		return nil, err
	}
	out := sdk.KeyList{Keys: make([]sdk.Key, len(page.Keys)), Next: page.Next}
	for i, k := range page.Keys {
		out.Keys[i] = keyOf(k)
	}
	return out, nil
}

func (s *Server) getKey(c *call) (any, error) {
	return keyResult(s.keys.Get(c.ctx, c.tenant, c.object))
}

func (s *Server) rotateKey(c *call) (any, error) {
	return keyResult(s.keys.Rotate(c.ctx, c.tenant, c.object))
}

func (s *Server) configureKey(c *call) (any, error) {
	var req sdk.KeyConfig
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return keyResult(s.keys.SetMinVersions(c.ctx, c.tenant, c.object, kms.MinVersions{
		Decryption: req.MinDecryptionVersion, Encryption: req.MinEncryptionVersion,
	}))
}

func (s *Server) enableKey(c *call) (any, error) {
	return keyResult(s.keys.Enable(c.ctx, c.tenant, c.object))
}

func (s *Server) disableKey(c *call) (any, error) {
	return keyResult(s.keys.Disable(c.ctx, c.tenant, c.object))
}

// deleteKey schedules destruction after ?pending_days= (7-30, default 30).
func (s *Server) deleteKey(c *call) (any, error) {
	days := 0
	if d := c.r.URL.Query().Get("pending_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return nil, fault.New(fault.InvalidArgument, "pending_days must be a number of days")
		}
		days = n
	}
	return keyResult(s.keys.ScheduleDeletion(c.ctx, c.tenant, c.object, days))
}

func (s *Server) cancelKeyDeletion(c *call) (any, error) {
	return keyResult(s.keys.CancelDeletion(c.ctx, c.tenant, c.object))
}

// publicKey answers the PEM public key of ?version=N, by default of the
// newest version (the one that signs today, which is what a file saved
// from it should hold), or with ?all_versions=true of every version,
// oldest first, each headed by a comment line naming its version.
func (s *Server) publicKey(c *call) (any, error) {
	q := c.r.URL.Query()
	all := false
	if a := q.Get("all_versions"); a != "" {
		var err error
		if all, err = strconv.ParseBool(a); err != nil {
			return nil, fault.New(fault.InvalidArgument, "all_versions must be true or false")
		}
	}
	version := 0
	if v := q.Get("version"); v != "" {
		var err error
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			return nil, fault.New(fault.InvalidArgument, "version must be a positive number")
		}
	}
	if !all {
		pk, err := s.keys.PublicKey(c.ctx, c.tenant, c.object, version)
		if err != nil {
			return nil, err
		}
		out, err := publicKeyPEM(pk.Key)
		if err != nil {
			return nil, err
		}
		return raw{contentType: "application/x-pem-file", body: []byte(out)}, nil
	}
	k, err := s.keys.Get(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	var pem strings.Builder
	for _, v := range k.Versions {
		pk, err := s.keys.PublicKey(c.ctx, c.tenant, c.object, v.Version)
		if err != nil {
			return nil, err
		}
		out, err := publicKeyPEM(pk.Key)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&pem, "# %s version %d\n%s", c.object, v.Version, out)
	}
	return raw{contentType: "application/x-pem-file", body: []byte(pem.String())}, nil
}

func aliasOf(a kms.Alias) sdk.Alias {
	return sdk.Alias{Name: a.Name, Target: a.Target, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func aliasResult(a kms.Alias, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return aliasOf(a), nil
}

type aliasRequest struct {
	Name   string `json:"name"`
	Target string `json:"target"`
}

func (s *Server) createAlias(c *call) (any, error) {
	var req aliasRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a, err := s.keys.CreateAlias(c.ctx, c.tenant, req.Name, req.Target)
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return aliasOf(a), nil
}

func (s *Server) updateAlias(c *call) (any, error) {
	var req aliasRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return aliasResult(s.keys.UpdateAlias(c.ctx, c.tenant, c.object, req.Target))
}

func (s *Server) deleteAlias(c *call) (any, error) {
	if err := s.keys.DeleteAlias(c.ctx, c.tenant, c.object); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}

func (s *Server) listAliases(c *call) (any, error) {
	limit, err := c.limit()
	if err != nil {
		return nil, err
	}
	page, err := s.keys.ListAliases(c.ctx, c.tenant, c.r.URL.Query().Get("after"), limit)
	if err != nil {
		return nil, err
	}
	out := sdk.AliasList{Aliases: make([]sdk.Alias, len(page.Aliases)), Next: page.Next}
	for i, a := range page.Aliases {
		out.Aliases[i] = aliasOf(a)
	}
	return out, nil
}
