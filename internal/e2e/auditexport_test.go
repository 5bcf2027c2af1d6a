package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/syslogtest"
	"github.com/mimacrypto/mima/sdk"
)

// TestAuditExportSurvivesReceiverAndNodeCrashes streams the audit log to a
// local syslog receiver, kills the receiver while records flow, keeps the
// node busy, kills the node, then brings both back: the receiver ends up
// with every record of the log, in order, each one exactly as stored (a
// record may come twice, never out of order).
func TestAuditExportSurvivesReceiverAndNodeCrashes(t *testing.T) {
	dataDir := t.TempDir()
	rcv := syslogtest.Listen(t, "127.0.0.1:0")
	args := []string{"--storage", "bolt", "--data-dir", dataDir, "--audit-segment-max-bytes", "20000",
		"--audit-export-type", "syslog", "--audit-export-address", "tcp://" + rcv.Addr()}
	srv := startServer(t, args...)
	ctx := context.Background()
	init, err := srv.client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	busy := func(srv *server, n int) {
		t.Helper()
		if _, err := srv.client(t, "").Sys().Unseal(ctx, init.Shares[0]); err != nil {
			t.Fatal(err)
		}
		c := srv.client(t, init.RootToken)
		for range n {
			if _, err := c.Auth().ListPolicies(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	busy(srv, 100)
	rcv.Wait(t, time.Minute, func(msgs [][]byte) bool { return len(msgs) >= 50 })
	rcv.Kill()
	busy(srv, 100) // nobody receives: requests go on, records wait in the log
	waitMetric(t, srv, "mima_audit_export_failures_total", func(v float64) bool { return v >= 1 })
	waitMetric(t, srv, "mima_audit_export_lag_records", func(v float64) bool { return v >= 100 })
	srv.kill()

	rcv2 := syslogtest.Listen(t, strings.TrimPrefix(args[len(args)-1], "tcp://"))
	srv = startServer(t, args...)
	busy(srv, 100)
	want := storedLog(t, filepath.Join(dataDir, "audit"))
	rcv2.Wait(t, time.Minute, func(msgs [][]byte) bool {
		return len(msgs) > 0 && seqOf(syslogtest.Record(msgs[len(msgs)-1])) >= uint64(len(want))
	})

	before, err := rcv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	after, err := rcv2.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || len(after) == 0 {
		t.Fatalf("%d messages before the crashes, %d after", len(before), len(after))
	}
	next := 0
	for i, msg := range append(before, after...) {
		rec := syslogtest.Record(msg)
		seq := seqOf(rec)
		switch {
		case seq >= 1 && seq <= uint64(next) && string(rec) == want[seq-1]:
		case seq == uint64(next+1) && next < len(want) && string(rec) == want[next]:
			next++
		case seq > uint64(len(want)): // written after we read the log
		default:
			t.Fatalf("message %d carries record %d, want %d or a repeat of an earlier one", i, seq, next+1)
		}
	}
	if next < len(want) {
		t.Fatalf("%d of %d records received", next, len(want))
	}
}

// waitMetric waits until the node's metric satisfies ok, looking every
// 10ms for up to a minute.
func waitMetric(t *testing.T, srv *server, name string, ok func(float64) bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		resp, err := http.Get(srv.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, after, found := strings.Cut(string(body), "\n"+name+" ")
		value, _, _ := strings.Cut(after, "\n")
		if v, err := strconv.ParseFloat(value, 64); found && err == nil && ok(v) {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("metric %s: %q after a minute", name, value)
		}
	}
}

// storedLog returns the record lines of the audit log in dir.
func storedLog(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := audit.DirSource(dir).Scan(context.Background(), func(line []byte) error {
		js, err := audit.JSONLine(line) // what export sends of a compact record
		if err != nil {
			return err
		}
		out = append(out, string(js))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seqOf returns the seq of a record line, 0 when it has none.
func seqOf(line []byte) uint64 {
	var r struct {
		Seq uint64 `json:"seq"`
	}
	_ = json.Unmarshal(line, &r)
	return r.Seq
}

// TestAuditArchiveVerifiesOffline runs a node that archives its sealed
// audit segments and removes them at once (retention 1ns): once one is
// gone from the node, the archive verifies offline with the pinned key and
// the node's directory verifies from after the archived records.
func TestAuditArchiveVerifiesOffline(t *testing.T) {
	dataDir, archive := t.TempDir(), t.TempDir()
	srv := startServer(t, "--storage", "bolt", "--data-dir", dataDir, "--audit-segment-max-bytes", "5000",
		"--audit-archive-dir", archive, "--audit-retention", "1ns")
	ctx := context.Background()
	init, err := srv.client(t, "").Sys().Init(ctx, sdk.InitRequest{Shares: 1, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.client(t, "").Sys().Unseal(ctx, init.Shares[0]); err != nil {
		t.Fatal(err)
	}
	c := srv.client(t, init.RootToken)
	for range 100 {
		if _, err := c.Auth().ListPolicies(ctx); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(dataDir, "audit")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for removed := false; !removed; {
		man, err := audit.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		removed = len(man.Segments) > 0 && man.Segments[0].Status == audit.StatusArchived
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no segment removed after archiving: %+v", man.Segments)
		}
	}
	srv.stop()

	var local, archived sdk.AuditReport
	cliJSON(t, "", "", &local, "audit", "verify", "--data-dir", dataDir)
	cliJSON(t, "", "", &archived, "audit", "verify", "--archive", archive, "--public-key", local.PublicKey)
	if !local.OK || local.FirstSeq < 2 || !archived.OK || archived.Records < local.FirstSeq-1 || archived.FirstSeq != 0 {
		t.Fatalf("node directory %+v, archive %+v: want the archive to hold records 1 to %d", local, archived, local.FirstSeq-1)
	}
}
