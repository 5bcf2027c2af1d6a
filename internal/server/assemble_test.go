package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage/bolt"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// boltConfig is a bolt node in dir.
func boltConfig(dir string) Config {
	cfg := Defaults()
	cfg.DataDir = dir
	cfg.LogLevel = "error"
	return cfg
}

// TestAssembleErrors makes each step of assemble fail in turn. Each must
// return an error that names the cause, without panicking, and release
// what it had opened: the store and audit log of the data directory open
// again afterwards.
func TestAssembleErrors(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, cfg *Config)
		want  string
	}{
		{"data dir is a file", func(_ *testing.T, cfg *Config) { cfg.DataDir = filepath.Join(file, "data") }, "bolt: create data dir"},
		{"audit dir is a file", func(_ *testing.T, cfg *Config) { cfg.AuditDir = filepath.Join(file, "audit") }, "audit: create"},
		{"audit log holds no record", func(t *testing.T, cfg *Config) {
			dir := filepath.Join(cfg.DataDir, "audit")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, audit.LogFile), []byte("not a record\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "opening the audit log"},
		{"KEK file missing", func(_ *testing.T, cfg *Config) { cfg.UnsealKEKFile = filepath.Join(cfg.DataDir, "missing.kek") }, "reading KEK file"},
		{"KEK file malformed", func(_ *testing.T, cfg *Config) { cfg.UnsealKEKFile = file }, "32 hexadecimal characters"},
		{"postgres DSN malformed", func(_ *testing.T, cfg *Config) {
			cfg.Storage, cfg.PostgresDSN = "postgres", "postgres://mima@127.0.0.1:notaport/mima"
		}, "postgres: bad DSN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := boltConfig(t.TempDir())
			tc.setup(t, &cfg)
			n, err := assemble(ctx, cfg)
			if err == nil {
				n.close()
				t.Fatalf("assemble succeeded, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("assemble: %v, want an error with %q", err, tc.want)
			}
			if cfg.Storage != "bolt" {
				return
			}
			// Nothing stays locked by the failed attempt.
			if b, err := bolt.Open(filepath.Join(cfg.DataDir, "mima.db")); err == nil {
				_ = b.Close()
			} else if !strings.Contains(tc.name, "data dir") {
				t.Errorf("the store after a failed assemble: %v", err)
			}
			if s, err := audit.OpenFileSink(filepath.Join(cfg.DataDir, "audit")); err == nil {
				_ = s.Close()
			} else if !strings.Contains(tc.name, "data dir") {
				t.Errorf("the audit log after a failed assemble: %v", err)
			}
		})
	}
}

// TestAssembleNodeIDInUse starts a second PostgreSQL node with the node id
// of a running one: assemble must say so (it used to panic closing the
// audit sink it never got), and the id is free again once the first node
// closes.
func TestAssembleNodeIDInUse(t *testing.T) {
	ctx := context.Background()
	cfg := Defaults()
	cfg.Storage, cfg.PostgresDSN, cfg.NodeID, cfg.LogLevel = "postgres", pgtest.Database(t), "node-1", "error"
	first, err := assemble(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := assemble(ctx, cfg); err == nil {
		n.close()
		t.Fatal("a second node with node id node-1 assembled")
	} else if !strings.Contains(err.Error(), `uses the node id "node-1"`) {
		t.Fatalf("second node: %v, want the node id named", err)
	}
	first.close()
	again, err := assemble(ctx, cfg)
	if err != nil {
		t.Fatalf("node-1 after the first node closed: %v", err)
	}
	again.close()
}
