package dbproxy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestPlansCached: a statement whose plan encrypted no literal is planned
// once and shared; one with an encrypted literal is planned (and its
// literal encrypted) for every use, as the ciphertext may differ; refusals
// are not kept.
func TestPlansCached(t *testing.T) {
	r := testRules(t)
	calls := 0
	counting := func(c *Column, index bool, v string) (string, error) {
		calls++
		return tagged(c, index, v)
	}
	const params = "SELECT id, name FROM customers WHERE phone = $1"
	first, err := r.analyze(params, counting)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := r.analyze(params, counting); err != nil || again != first {
		t.Errorf("a statement with parameters only was planned again (%v)", err)
	}
	const literal = "SELECT id FROM customers WHERE phone = '138'"
	a, _ := r.analyze(literal, counting)
	b, _ := r.analyze(literal, counting)
	if a == b || calls != 2 || !strings.Contains(b.sql, "ENC(phone:138)") {
		t.Errorf("a statement with an encrypted literal was cached: %d encryptions, %q", calls, b.sql)
	}
	const refused = "SELECT id FROM customers WHERE phone LIKE $1"
	for range 2 {
		if _, err := r.analyze(refused, counting); err == nil {
			t.Error("LIKE on an encrypted column was not refused")
		}
	}
	if r.plans.get(refused) != nil {
		t.Error("a refusal was cached")
	}
}

func TestPlanCacheBounded(t *testing.T) {
	var c planCache
	for i := range maxPlans + 10 {
		c.put(fmt.Sprintf("SELECT %d FROM customers", i), &plan{})
	}
	if n := len(c.plans); n > maxPlans || n == 0 {
		t.Errorf("%d plans cached, bound %d", n, maxPlans)
	}
	long := "SELECT * FROM customers WHERE id IN (" + strings.Repeat("1,", maxPlanSQL) + "1)"
	c.put(long, &plan{})
	if c.get(long) != nil {
		t.Error("a plan of SQL longer than maxPlanSQL was cached")
	}
}

// TestPlansShared plans from several goroutines at once, as sessions do
// (go test -race checks the cache's locking).
func TestPlansShared(t *testing.T) {
	r := testRules(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				sql := fmt.Sprintf("SELECT id FROM customers WHERE phone = $1 AND id = %d", (g*50+i)%20)
				if p, err := r.analyze(sql, tagged); err != nil || p.params[1].col == nil {
					t.Errorf("%s: %v", sql, err)
				}
			}
		})
	}
	wg.Wait()
}
