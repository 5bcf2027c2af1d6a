package kms

import (
	"fmt"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

// listAll follows the cursor to the end and returns the names listed and
// the number of calls made.
func listAll(t *testing.T, s *Service, tenant string, opts ListOptions) ([]string, int) {
	t.Helper()
	var names []string
	for calls := 1; ; calls++ {
		page, err := s.List(ctx, tenant, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Keys {
			names = append(names, k.Name)
		}
		if page.Next == "" {
			return names, calls
		}
		opts.After = page.Next
	}
}

func TestListPagesAndFilters(t *testing.T) {
	s, _, _ := newTestService(t)
	for i := range 25 {
		typ := []device.KeyType{device.SM4, device.SM2, device.HMACSM3}[i%3]
		mustCreate(t, s, "acme", fmt.Sprintf("k%02d", i), typ, func(r *CreateRequest) {
			r.Tags = map[string]string{"parity": fmt.Sprint(i % 2)}
		})
	}
	mustCreate(t, s, "other", "k00", device.SM4)
	if _, err := s.Disable(ctx, "acme", "k03"); err != nil {
		t.Fatal(err)
	}
	names, calls := listAll(t, s, "acme", ListOptions{Limit: 10})
	if len(names) != 25 || names[0] != "k00" || names[24] != "k24" || calls != 3 {
		t.Fatalf("listed %d names in %d calls: %v", len(names), calls, names)
	}
	for _, tc := range []struct {
		name string
		opts ListOptions
		want int
	}{
		{"type", ListOptions{Type: device.SM2}, 8},
		{"state", ListOptions{State: Disabled}, 1},
		{"tag", ListOptions{Tags: map[string]string{"parity": "1"}}, 12},
		{"type and tag", ListOptions{Type: device.SM4, Tags: map[string]string{"parity": "0"}}, 5},
		{"absent tag", ListOptions{Tags: map[string]string{"nope": "1"}}, 0},
		{"small pages", ListOptions{Type: device.HMACSM3, Limit: 2}, 8},
	} {
		if got, _ := listAll(t, s, "acme", tc.opts); len(got) != tc.want {
			t.Errorf("%s: %d keys %v, want %d", tc.name, len(got), got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		opts ListOptions
	}{
		{"negative limit", ListOptions{Limit: -1}},
		{"limit too large", ListOptions{Limit: MaxListLimit + 1}},
		{"bad cursor", ListOptions{After: "a/b"}},
	} {
		_, err := s.List(ctx, "acme", tc.opts)
		wantCode(t, tc.name, err, fault.InvalidArgument)
	}
}

// TestListScanIsBounded shows that a filtered page examines at most
// MaxListLimit stored keys and hands back a cursor.
func TestListScanIsBounded(t *testing.T) {
	s, st, _ := newTestService(t)
	for i := range MaxListLimit + 5 {
		mustCreate(t, s, "acme", fmt.Sprintf("k%05d", i), device.HMACSM3)
	}
	mustCreate(t, s, "acme", "z-last", device.SM2)
	before := st.gets.Load()
	page, err := s.List(ctx, "acme", ListOptions{Type: device.SM2})
	if err != nil {
		t.Fatal(err)
	}
	if reads := st.gets.Load() - before; len(page.Keys) != 0 || page.Next == "" || reads != MaxListLimit {
		t.Fatalf("first filtered page: %d keys, next %q, %d reads", len(page.Keys), page.Next, reads)
	}
	page, err = s.List(ctx, "acme", ListOptions{Type: device.SM2, After: page.Next})
	if err != nil || len(page.Keys) != 1 || page.Keys[0].Name != "z-last" || page.Next != "" {
		t.Fatalf("second filtered page: %+v, %v", page, err)
	}
}
