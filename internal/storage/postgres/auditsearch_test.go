package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
)

// TestAuditSearchPages pages through one tenant's records of a node's
// chain, each later page read from its cursor on: no record comes twice
// or goes missing.
func TestAuditSearchPages(t *testing.T) {
	b := open(t, pgtest.Database(t))
	ctx := context.Background()
	sink := openSink(t, b, "n1")
	log, err := audit.New(sink)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for i := range 7 {
		tenant := []string{"acme", "zeta"}[i%2]
		if err := log.Log(ctx, audit.Entry{RequestID: fmt.Sprint("r", i), Tenant: tenant, Operation: "encrypt", Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	err = b.AuditSource("n1").(audit.SeqScanner).ScanAfter(ctx, 5, func(line []byte) error {
		r, err := audit.ParseRecord(line)
		if err == nil {
			seqs = append(seqs, r.Seq)
		}
		return err
	})
	if err != nil || !slices.Equal(seqs, []uint64{6, 7}) {
		t.Fatalf("records after 5: %v %v, want [6 7]", seqs, err)
	}
	var got []string
	q := audit.Query{Tenant: "acme", Limit: 1, MaxRead: 2}
	for range 10 {
		p, err := audit.Search(ctx, b.AuditSource("n1"), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			got = append(got, r.RequestID)
		}
		if p.Next == 0 {
			break
		}
		q.After = p.Next
	}
	if want := []string{"r0", "r2", "r4", "r6"}; !slices.Equal(got, want) {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
}
