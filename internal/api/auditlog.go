package api

import (
	"context"
	"io"
	"maps"
	"slices"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/sdk"
)

// AuditSource is what the verify and export endpoints read: this node's
// own chain, every chain of the cluster (by node id; "" for a single
// node), and the options (the checkpoint key) that verification pins.
type AuditSource struct {
	Own     audit.Source
	Chains  func(ctx context.Context) (map[string]audit.Source, error)
	Options func() audit.VerifyOptions
}

// verifyAudit verifies every chain; the report adds them up and, in a
// cluster, lists each node's.
func (s *Server) verifyAudit(c *call) (any, error) {
	if s.auditSrc.Chains == nil {
		return nil, fault.New(fault.NotFound, "this server keeps no readable audit log")
	}
	chains, err := s.auditSrc.Chains(c.ctx)
	if err != nil {
		return nil, err
	}
	reports := map[string]audit.Report{}
	for node, src := range chains {
		rep, err := audit.Verify(c.ctx, src, s.auditSrc.Options())
		if err != nil {
			return nil, err
		}
		reports[node] = rep
	}
	return AuditReports(reports), nil
}

// AuditReports shows the reports of several chains as one: valid when
// every chain is, with the sums, the first bad record of the first bad
// chain (in node order) and, for a cluster, each chain's own report.
func AuditReports(reports map[string]audit.Report) sdk.AuditReport {
	if r, ok := reports[""]; ok && len(reports) == 1 {
		return AuditReport(r)
	}
	out := sdk.AuditReport{OK: true, Chains: map[string]sdk.AuditReport{}}
	for _, node := range slices.Sorted(maps.Keys(reports)) {
		one := AuditReport(reports[node])
		out.Chains[node] = one
		out.Records += one.Records
		out.Checkpoints += one.Checkpoints
		out.AfterCheckpoint += one.AfterCheckpoint
		if !one.OK && out.OK {
			out.OK = false
			out.FirstBad = one.FirstBad
			out.FirstBad.Reason = "node " + node + ": " + out.FirstBad.Reason
		}
	}
	return out
}

// exportAudit writes this node's chain, or ?node= another's.
func (s *Server) exportAudit(c *call) (any, error) {
	src := s.auditSrc.Own
	if node := c.r.URL.Query().Get("node"); node != "" && s.auditSrc.Chains != nil {
		chains, err := s.auditSrc.Chains(c.ctx)
		if err != nil {
			return nil, err
		}
		src = chains[node]
	}
	if src == nil {
		return nil, fault.New(fault.NotFound, "no such audit chain")
	}
	return stream{contentType: "application/x-ndjson", write: func(w io.Writer) error {
		return audit.Export(c.ctx, w, src)
	}}, nil
}

// AuditReport shows a verification report in the API's wire form; the CLI
// uses it for offline verification too.
func AuditReport(r audit.Report) sdk.AuditReport {
	out := sdk.AuditReport{
		OK: r.OK, Records: r.Records, Checkpoints: r.Checkpoints,
		LastCheckpointSeq: r.LastCheckpointSeq, LastCheckpointTime: r.LastCheckpointTime,
		Head: r.Head, PublicKey: r.PublicKey,
		AfterCheckpoint: r.AfterCheckpoint, ExternalCheckpointSeq: r.ExternalSeq,
		FirstSeq: r.FirstSeq,
	}
	if r.FirstBad != nil {
		out.FirstBad = &sdk.AuditProblem{Seq: r.FirstBad.Seq, Line: r.FirstBad.Line, Reason: r.FirstBad.Reason}
	}
	return out
}
