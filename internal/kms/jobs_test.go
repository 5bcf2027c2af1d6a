package kms

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
)

const day = 24 * time.Hour

func runJobs(t *testing.T, s *Service, now time.Time, want JobReport) {
	t.Helper()
	rep, err := s.RunJobs(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep != want {
		t.Fatalf("RunJobs at %s = %+v, want %+v", now, rep, want)
	}
}

func TestRunJobsDestroysDueKeys(t *testing.T) {
	s, st, c := newTestService(t)
	mustCreate(t, s, "acme", "doomed", device.SM4)
	mustCreate(t, s, "acme", "spared", device.SM4)
	if _, err := s.CreateAlias(ctx, "acme", "alias:d", "doomed"); err != nil {
		t.Fatal(err)
	}
	material := bytes.Clone(rawMaterial(t, st, "acme", "doomed", 1))
	start := c.Now()
	for _, name := range []string{"doomed", "spared"} {
		if _, err := s.ScheduleDeletion(ctx, "acme", name, 7); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CancelDeletion(ctx, "acme", "spared"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, start.Add(7*day-time.Second), JobReport{})
	runJobs(t, s, start.Add(7*day), JobReport{Destroyed: 1})
	runJobs(t, s, start.Add(8*day), JobReport{})

	_, err := s.Get(ctx, "acme", "doomed")
	wantCode(t, "get destroyed", err, fault.KeyNotFound)
	_, err = s.Encrypt(ctx, "acme", "doomed", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "encrypt destroyed", err, fault.KeyNotFound)
	_, err = s.Encrypt(ctx, "acme", "alias:d", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "encrypt through alias of destroyed", err, fault.KeyNotFound)
	_, err = s.Create(ctx, "acme", CreateRequest{Name: "doomed", Type: device.SM4})
	wantCode(t, "reuse destroyed name", err, fault.KeyDestroyed)
	if _, err := s.Get(ctx, "acme", "spared"); err != nil {
		t.Fatalf("cancelled deletion destroyed the key: %v", err)
	}

	if _, err := st.Get(ctx, paths.Key{Tenant: "acme", Name: "doomed"}.String()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("record still stored: %v", err)
	}
	tb, err := st.Get(ctx, tombstonePath("acme", "doomed"))
	if err != nil {
		t.Fatal(err)
	}
	var ts tombstone
	if err := json.Unmarshal(tb, &ts); err != nil || ts.Name != "doomed" || ts.Versions != 1 || !ts.DestroyedAt.Equal(start.Add(7*day)) {
		t.Fatalf("tombstone %s: %v", tb, err)
	}
	if bytes.Contains(tb, material) {
		t.Fatal("tombstone holds key material")
	}
	due, err := st.List(ctx, dueRoot, "", 0)
	if err != nil || len(due) != 0 {
		t.Fatalf("schedule entries left: %v, %v", due, err)
	}
	page, err := s.List(ctx, "acme", ListOptions{})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].Name != "spared" {
		t.Fatalf("List after destruction: %+v, %v", page, err)
	}
}

func TestRunJobsRotates(t *testing.T) {
	s, _, c := newTestService(t)
	start := c.Now()
	mustCreate(t, s, "acme", "daily", device.SM4, func(r *CreateRequest) { r.AutoRotatePeriod = day })
	mustCreate(t, s, "acme", "paused", device.HMACSM3, func(r *CreateRequest) { r.AutoRotatePeriod = day })
	mustCreate(t, s, "acme", "manual", device.SM2)
	if _, err := s.Disable(ctx, "acme", "paused"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, start.Add(day-time.Second), JobReport{})
	runJobs(t, s, start.Add(day), JobReport{Rotated: 1})
	runJobs(t, s, start.Add(day), JobReport{})
	ki, err := s.Get(ctx, "acme", "daily")
	if err != nil || ki.LatestVersion != 2 || !ki.Versions[1].CreatedAt.Equal(start.Add(day)) || !ki.NextRotation.Equal(start.Add(2*day)) {
		t.Fatalf("after rotation: %+v, %v", ki, err)
	}
	if ct := mustEncrypt(t, s, "acme", "daily", EncryptRequest{Plaintext: []byte("p")}); ct[:8] != "mima:v2:" {
		t.Fatalf("encrypting after auto-rotation used %s", ct[:8])
	}
	// Missed periods rotate once; the disabled key waits for Enable.
	runJobs(t, s, start.Add(5*day), JobReport{Rotated: 1})
	if _, err := s.Enable(ctx, "acme", "paused"); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, start.Add(5*day), JobReport{Rotated: 1})
	for name, want := range map[string]int{"daily": 3, "paused": 2, "manual": 1} {
		if ki, err := s.Get(ctx, "acme", name); err != nil || ki.LatestVersion != want {
			t.Errorf("%s: latest version %d (%v), want %d", name, ki.LatestVersion, err, want)
		}
	}
	// Pending deletion stops rotation: only "paused" (due at day 6) rotates.
	c.Advance(5 * day)
	if _, err := s.ScheduleDeletion(ctx, "acme", "daily", 7); err != nil {
		t.Fatal(err)
	}
	runJobs(t, s, start.Add(12*day-time.Second), JobReport{Rotated: 1})
	runJobs(t, s, start.Add(12*day), JobReport{Destroyed: 1})
}

func TestDuePath(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC)
	p := duePath(dueRotate, at, "acme", "k.1")
	job, secs, tenant, name, ok := parseDue(p)
	if !ok || job != dueRotate || secs != at.Unix()+1 || tenant != "acme" || name != "k.1" {
		t.Fatalf("parseDue(%q) = %s %d %s %s %v", p, job, secs, tenant, name, ok)
	}
	if p2 := duePath(dueRotate, at.Truncate(time.Second), "acme", "k.1"); p2 >= p {
		t.Fatalf("schedule paths do not sort by time: %q >= %q", p2, p)
	}
	for _, bad := range []string{"kms/due/rotate/123/acme/k", "kms/due/rotate/0000000000000000000x/acme/k", "kms/due/rotate/acme"} {
		if _, _, _, _, ok := parseDue(bad); ok {
			t.Errorf("parseDue(%q) accepted", bad)
		}
	}
}
