package sdk

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy says how a call that failed may be tried again. A call is
// retried when the server refused it before acting (429 rate_limited, 503
// sealed), whatever its method, and, for idempotent calls (GET, HEAD),
// also when no answer came or a gateway answered 502, 503 or 504. The
// wait before attempt n+1 is the server's Retry-After when it gave one,
// else a random duration between half and all of MinBackoff·2ⁿ⁻¹, capped
// at MaxBackoff. A request whose body is a stream that cannot be replayed
// is never retried.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 0 or 1 turns retries off.
	MaxAttempts int
	// MinBackoff is the base wait before the second attempt.
	MinBackoff time.Duration
	// MaxBackoff caps the computed wait (not the server's Retry-After).
	MaxBackoff time.Duration
}

// DefaultRetryPolicy is the policy of a client without WithRetry: three
// attempts, waits from 100 ms up to 2 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
}

// next says whether req, whose attempt-th try failed with err, is tried
// again and after how long.
func (p RetryPolicy) next(req *http.Request, attempt int, err error) (time.Duration, bool) {
	if err == nil || attempt >= p.MaxAttempts || req.Context().Err() != nil {
		return 0, false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return 0, false
	}
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
	var e *APIError
	switch {
	case errors.As(err, &e):
		refused := e.Code == "rate_limited" || (e.Status == http.StatusServiceUnavailable && e.Code == "sealed")
		gateway := e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
		if !refused && !(idempotent && gateway) {
			return 0, false
		}
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
	case errors.As(err, new(*transportError)):
		if !idempotent {
			return 0, false
		}
	default:
		return 0, false
	}
	return p.backoff(attempt), true
}

// backoff is the jittered wait after the attempt-th try.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinBackoff << (attempt - 1)
	if d > p.MaxBackoff || d <= 0 {
		d = p.MaxBackoff
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sleepContext waits d, or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
