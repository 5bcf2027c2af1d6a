package api

import (
	"net/http"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/sdk"
)

func (s *Server) importParams(c *call) (any, error) {
	p, err := s.keys.ImportParams(c.ctx, c.tenant, c.object)
	if err != nil {
		return nil, err
	}
	return sdk.ImportParams{Token: p.Token, PublicKey: p.PublicKey, Key: p.Key, Type: string(p.Type), ExpiresAt: p.ExpiresAt}, nil
}

func (s *Server) importKey(c *call) (any, error) {
	var req sdk.ImportRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	return keyResult(s.keys.Import(c.ctx, c.tenant, c.object, kms.ImportRequest{Token: req.Token, WrappedMaterial: req.WrappedMaterial}))
}

func (s *Server) exportKey(c *call) (any, error) {
	var req sdk.ExportRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	e, err := s.keys.Export(c.ctx, c.tenant, c.object, kms.ExportRequest{PublicKeyPEM: req.PublicKey, Version: req.Version, SM2Format: kms.SM2Format(req.SM2Format)})
	if err != nil {
		return nil, err
	}
	return sdk.ExportedKey{Name: e.Name, Type: string(e.Type), Version: e.Version, Wrapped: e.Wrapped}, nil
}

type backupRequest struct {
	Password string `json:"password"`
}

type backupAnswer struct {
	Backup []byte `json:"backup"`
}

func (s *Server) backupKey(c *call) (any, error) {
	var req backupRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("password", []byte(req.Password))
	blob, err := s.keys.Backup(c.ctx, c.tenant, c.object, kms.BackupRequest{Password: []byte(req.Password)})
	if err != nil {
		return nil, err
	}
	return backupAnswer{Backup: blob}, nil
}

// restoreKey needs keys.restore on the name the key is restored under; a
// backup restored under its own name needs it on "" (a policy's "*").
func (s *Server) restoreKey(c *call) (any, error) {
	var req sdk.RestoreRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	c.markSensitive("password", []byte(req.Password))
	k, err := s.keys.Restore(c.ctx, c.tenant, kms.RestoreRequest{Blob: req.Backup, Password: []byte(req.Password), Name: req.Name})
	if err != nil {
		return nil, err
	}
	c.object = k.Name
	c.status = http.StatusCreated
	return keyOf(k), nil
}
