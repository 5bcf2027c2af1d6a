package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/sdk"
)

// TestTokenOutputShowsLastUse: token lookup and token list say when a
// token was last used, or that it never was.
func TestTokenOutputShowsLastUse(t *testing.T) {
	used := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		last         time.Time
		lookup, list string
	}{
		{time.Time{}, "Last used\tnever\n", "\tnever used\t"},
		{used, "Last used\t2026-11-26 12:00:00 UTC\n", "\tused 2026-11-26 12:00:00 UTC\t"},
	} {
		tok := sdk.TokenInfo{Accessor: "acc", Tenant: "acme", Policies: []string{"admin"}, LastUsedAt: tc.last}
		var lookup, list bytes.Buffer
		printTokenInfo(&lookup, tok)
		printTokenLine(&list, "", tok)
		if !strings.Contains(lookup.String(), tc.lookup) {
			t.Errorf("lookup of a token last used %v:\n%s", tc.last, lookup.String())
		}
		if !strings.Contains(list.String(), tc.list) {
			t.Errorf("list line of a token last used %v: %q", tc.last, list.String())
		}
	}
}
