package api

import (
	"io"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
)

// AuditSource is the audit log the verify and export endpoints read, with
// the options (the server's own checkpoint key) that verification pins.
type AuditSource struct {
	Source  audit.Source
	Options func() audit.VerifyOptions
}

func (s *Server) verifyAudit(c *call) (any, error) {
	if s.auditSrc.Source == nil {
		return nil, fault.New(fault.NotFound, "this server keeps no readable audit log")
	}
	return audit.Verify(c.ctx, s.auditSrc.Source, s.auditSrc.Options())
}

func (s *Server) exportAudit(c *call) (any, error) {
	if s.auditSrc.Source == nil {
		return nil, fault.New(fault.NotFound, "this server keeps no readable audit log")
	}
	return stream{contentType: "application/x-ndjson", write: func(w io.Writer) error {
		return audit.Export(c.ctx, w, s.auditSrc.Source)
	}}, nil
}
