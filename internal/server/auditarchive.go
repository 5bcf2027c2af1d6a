package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/audit"
)

// AuditExport names where audit records are streamed (audit_export in the
// config file).
type AuditExport struct {
	Type    string `yaml:"type"`    // syslog or http; "" is off
	Address string `yaml:"address"` // tcp://host:port or unix:///path for syslog, a URL for http
}

// fileAudit reports whether the audit log is kept in files.
func (c Config) fileAudit() bool { return c.Storage == "bolt" || c.AuditDir != "" }

// auditDir is the directory of the file audit log, "" when there is none.
func (c Config) auditDir() string {
	if c.AuditDir == "" && c.Storage == "bolt" {
		return filepath.Join(c.DataDir, "audit")
	}
	return c.AuditDir
}

// overlap reports whether one of the directories a and b is inside the
// other (or they are one).
func overlap(a, b string) bool {
	a, errA := filepath.Abs(a)
	b, errB := filepath.Abs(b)
	if errA != nil || errB != nil {
		return false
	}
	inside := func(x, y string) bool {
		rel, err := filepath.Rel(y, x)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	}
	return inside(a, b) || inside(b, a)
}

// validateAuditArchive checks the archive, retention and export settings.
func (c Config) validateAuditArchive() error {
	archive := c.AuditArchiveDir != "" || c.AuditArchiveCommand != ""
	switch {
	case c.AuditArchiveDir != "" && c.AuditArchiveCommand != "":
		return errors.New("audit_archive_dir and audit_archive_command exclude each other")
	case c.AuditRetention < 0:
		return errors.New("audit_retention must not be negative")
	case c.AuditRetention > 0 && !archive:
		return errors.New("audit_retention needs audit_archive_dir or audit_archive_command: nothing is removed that is not archived")
	case c.Storage == "postgres" && (c.AuditArchiveCommand != "" || c.AuditExport != AuditExport{}):
		return errors.New("with the postgres store, audit segments are archived to audit_archive_dir; audit_archive_command and audit_export need an audit log in files")
	case (archive || c.AuditExport != AuditExport{}) && !c.fileAudit() && c.Storage != "postgres":
		return errors.New("audit archive and export work on an audit log kept in files (bolt storage or audit_dir) or in PostgreSQL")
	case c.AuditArchiveDir != "" && !filepath.IsAbs(c.AuditArchiveDir):
		return errors.New("audit_archive_dir must be an absolute path")
	case c.AuditArchiveDir != "" && overlap(c.AuditArchiveDir, c.auditDir()):
		return errors.New("audit_archive_dir must be outside the audit directory, and the audit directory outside it")
	}
	if c.AuditExport != (AuditExport{}) {
		if _, err := audit.OpenDestination(c.AuditExport.Type, c.AuditExport.Address, ""); err != nil {
			return fmt.Errorf("audit_export: %w", err)
		}
	}
	return nil
}

// archiveOptions are the sink options for the configured archive and
// retention, and the export cursor when export is on: retention keeps what
// it has not delivered.
func archiveOptions(cfg Config, dir string) ([]audit.SinkOption, *audit.Cursor, error) {
	var (
		opts []audit.SinkOption
		cur  *audit.Cursor
		err  error
	)
	if cfg.AuditExport.Type != "" {
		if cur, err = audit.OpenCursor(dir); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case cfg.AuditArchiveDir != "":
		a, err := audit.NewDirArchiver(cfg.AuditArchiveDir)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, audit.WithArchive(a))
	case cfg.AuditArchiveCommand != "":
		opts = append(opts, audit.WithArchive(audit.NewCommandArchiver(cfg.AuditArchiveCommand)))
	}
	if cfg.AuditRetention > 0 {
		var hold func() uint64
		if cur != nil {
			hold = cur.Seq
		}
		opts = append(opts, audit.WithRetention(cfg.AuditRetention, hold))
	}
	return opts, cur, nil
}

// openExport returns the exporter of the file log s from cursor cur.
func (n *node) openExport(s *audit.FileSink, cur *audit.Cursor) error {
	dest, err := audit.OpenDestination(n.cfg.AuditExport.Type, n.cfg.AuditExport.Address, n.nodeID())
	if err != nil {
		return err
	}
	n.export = audit.NewExporter(s, cur, dest, func(err error) { n.log.Warn("audit export failed; retrying", "error", err) })
	return nil
}

// exportMetrics are the metrics of the audit export, if it is on.
func (n *node) exportMetrics() api.Option {
	if n.export == nil {
		return api.WithCollectors()
	}
	return api.WithCollectors(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mima_audit_export_lag_records",
		Help: "Audit records written and not yet delivered by the audit export.",
	}, func() float64 { return float64(n.export.Lag()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "mima_audit_export_failures_total",
		Help: "Audit export deliveries that failed and were tried again.",
	}, func() float64 { return float64(n.export.Failures()) }))
}

// runExport starts the audit export, if it is on, until ctx ends or the
// node closes.
func (n *node) runExport(ctx context.Context) {
	if n.export == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	n.stopExport = func() {
		cancel()
		<-done
	}
	go func() {
		defer close(done)
		n.export.Run(ctx)
	}()
}

// openAuditLog opens the file audit log in dir with the configured
// segments, archive, retention and export.
func (n *node) openAuditLog(dir string) error {
	opts, cur, err := archiveOptions(n.cfg, dir)
	if err != nil {
		return err
	}
	s, err := audit.OpenFileSink(dir, append([]audit.SinkOption{
		audit.WithSegmentMaxBytes(n.cfg.AuditSegmentMaxBytes),
		audit.WithSegmentMaxAge(n.cfg.AuditSegmentMaxAge),
		audit.WithSinkErrorHandler(func(err error) { n.log.Error("audit segment work failed", "error", err) }),
	}, opts...)...)
	if err != nil {
		return err
	}
	n.sink = s
	if cur == nil {
		return nil
	}
	return n.openExport(s, cur)
}
