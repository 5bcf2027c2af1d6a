package server

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

// chainStore is a shared store that keeps the nodes' audit chains in
// memory, as the PostgreSQL backend keeps them in tables.
type chainStore struct {
	storage.Backend
	chains map[string]*audit.MemorySink
	cfg    audit.ChainConfig // as last opened
}

func (c *chainStore) AuditSink(_ context.Context, node string, cfg audit.ChainConfig) (audit.Sink, error) {
	c.cfg = cfg
	c.chains[node] = audit.NewMemorySink(100)
	return c.chains[node], nil
}

func (c *chainStore) AuditSource(node string) audit.Source { return c.chains[node] }

func (c *chainStore) AuditNodes(context.Context) ([]string, error) {
	return slices.Sorted(maps.Keys(c.chains)), nil
}

// TestSharedStoreKeepsTheAuditChains: a store that keeps the nodes' audit
// chains (found by type assertion, whatever the backend) keeps this
// node's chain under its node id with the configured segments and
// archive, and every node's chain is verifiable; another store leaves the
// chain to the node.
func TestSharedStoreKeepsTheAuditChains(t *testing.T) {
	ctx := context.Background()
	cfg := Defaults()
	cfg.Storage, cfg.NodeID, cfg.AuditArchiveDir = "inmem", "n1", t.TempDir()
	st := &chainStore{Backend: inmem.New(), chains: map[string]*audit.MemorySink{"n0": audit.NewMemorySink(1)}}
	n := &node{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), backend: st}
	if err := n.openSink(ctx); err != nil {
		t.Fatal(err)
	}
	if n.sink != audit.Sink(st.chains["n1"]) || n.chainName() != "n1" {
		t.Fatalf("the node's sink is not its chain in the store (chain name %q)", n.chainName())
	}
	if st.cfg.SegmentMaxBytes != cfg.AuditSegmentMaxBytes || st.cfg.SegmentMaxAge != cfg.AuditSegmentMaxAge || st.cfg.Archiver == nil || st.cfg.Retention != cfg.AuditRetention {
		t.Errorf("chain opened with %+v", st.cfg)
	}
	chains, err := n.auditChains(ctx)
	if err != nil || !slices.Equal(slices.Sorted(maps.Keys(chains)), []string{"n0", "n1"}) {
		t.Fatalf("auditChains = %v, %v; want n0 and n1", chains, err)
	}

	own := &node{cfg: cfg, backend: inmem.New()}
	if err := own.openSink(ctx); err != nil {
		t.Fatal(err)
	}
	if chains, err := own.auditChains(ctx); err != nil || len(chains) != 1 || chains[""] != own.sink || own.chainName() != "" {
		t.Fatalf("a store of one node: chains %v, %v; chain name %q", chains, err, own.chainName())
	}
}
