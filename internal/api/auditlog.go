package api

import (
	"io"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
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
	rep, err := audit.Verify(c.ctx, s.auditSrc.Source, s.auditSrc.Options())
	if err != nil {
		return nil, err
	}
	return AuditReport(rep), nil
}

func (s *Server) exportAudit(c *call) (any, error) {
	if s.auditSrc.Source == nil {
		return nil, fault.New(fault.NotFound, "this server keeps no readable audit log")
	}
	return stream{contentType: "application/x-ndjson", write: func(w io.Writer) error {
		return audit.Export(c.ctx, w, s.auditSrc.Source)
	}}, nil
}

// AuditReport shows a verification report in the API's wire form; the CLI
// uses it for offline verification too.
func AuditReport(r audit.Report) sdk.AuditReport {
	out := sdk.AuditReport{
		OK: r.OK, Records: r.Records, Checkpoints: r.Checkpoints,
		LastCheckpointSeq: r.LastCheckpointSeq, LastCheckpointTime: r.LastCheckpointTime,
		Head: r.Head, PublicKey: r.PublicKey,
	}
	if r.FirstBad != nil {
		out.FirstBad = &sdk.AuditProblem{Seq: r.FirstBad.Seq, Line: r.FirstBad.Line, Reason: r.FirstBad.Reason}
	}
	return out
}
