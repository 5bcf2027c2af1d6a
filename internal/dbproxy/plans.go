package dbproxy

import "sync"

// Bounds of the plan cache: plans of SQL longer than maxPlanSQL are not
// kept, and when maxPlans are the cache starts again empty, so that it
// holds a few megabytes at most whatever the clients send.
const (
	maxPlans   = 512
	maxPlanSQL = 4096
)

// planCache holds the plans of SQL naming a protected table that do not
// depend on the session: those that encrypted no literal. Plans are not
// changed once made, so sessions share them.
type planCache struct {
	mu    sync.Mutex
	plans map[string]*plan
}

func (c *planCache) get(sql string) *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plans[sql]
}

func (c *planCache) put(sql string, p *plan) {
	if len(sql) > maxPlanSQL {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plans == nil || len(c.plans) >= maxPlans {
		c.plans = make(map[string]*plan, maxPlans)
	}
	c.plans[sql] = p
}
