package server

import (
	"testing"
	"time"
)

func TestAuditArchiveAndExportConfig(t *testing.T) {
	file := "storage: bolt\ndata_dir: /var/lib/mima\naudit_archive_dir: /mnt/archive\naudit_retention: 4380h\n" +
		"audit_export:\n  type: syslog\n  address: tcp://siem.example:6514\n"
	cfg, err := load(t, file, map[string]string{"MIMA_AUDIT_EXPORT_ADDRESS": "unix:///run/siem.sock"})
	if err != nil {
		t.Fatal(err)
	}
	want := AuditExport{Type: "syslog", Address: "unix:///run/siem.sock"}
	if cfg.AuditArchiveDir != "/mnt/archive" || cfg.AuditRetention != 4380*time.Hour || cfg.AuditExport != want {
		t.Fatalf("audit archive and export: %+v", cfg)
	}
	for name, args := range map[string][]string{
		"dir and command":       {"--audit-archive-dir", "/a", "--audit-archive-command", "cp %p /a/%f"},
		"retention, no archive": {"--audit-retention", "24h"},
		"negative retention":    {"--audit-archive-dir", "/a", "--audit-retention", "-1h"},
		"relative archive dir":  {"--audit-archive-dir", "archive"},
		"archive in audit dir":  {"--data-dir", "/var/lib/mima", "--audit-archive-dir", "/var/lib/mima/audit/old"},
		"audit dir in archive":  {"--data-dir", "/var/lib/mima", "--audit-archive-dir", "/var/lib"},
		"archive in memory":     {"--storage", "inmem", "--audit-archive-dir", "/a"},
		"export in memory":      {"--storage", "inmem", "--audit-export-type", "http", "--audit-export-address", "http://x/"},
		"export bad type":       {"--audit-export-type", "kafka", "--audit-export-address", "x:1"},
		"export no address":     {"--audit-export-type", "syslog"},
		"export bad address":    {"--audit-export-type", "http", "--audit-export-address", "siem:80"},
		"postgres command":      {"--storage", "postgres", "--postgres-dsn", "postgres://x/y", "--audit-archive-command", "cp %p /a/%f"},
		"postgres export":       {"--storage", "postgres", "--postgres-dsn", "postgres://x/y", "--audit-export-type", "http", "--audit-export-address", "http://x/"},
	} {
		if _, err := load(t, "", nil, args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// PostgreSQL nodes archive their sealed partitions to a directory.
	if _, err := load(t, "", nil, "--storage", "postgres", "--postgres-dsn", "postgres://x/y", "--audit-archive-dir", "/a", "--audit-retention", "4380h"); err != nil {
		t.Errorf("postgres with an archive directory: %v", err)
	}
}
