// Package coherence keeps the in-memory caches of several nodes that share
// one store in step. When another node changes an entry, each cache
// forgets its copy; when changes may have been missed (the notification
// channel was lost) and, as a safety net, every recheck interval, every
// cache is purged and reloads from the store on next use. A stale entry
// thus lives at most until the next notification or the next recheck.
package coherence

import (
	"context"
	"log/slog"
	"time"

	"github.com/mimacrypto/mima/internal/storage"
)

// Cache is a service's in-memory copy of stored state.
type Cache interface {
	// Forget drops what the cache holds of the entry at path.
	Forget(path string)
	// Purge drops everything.
	Purge()
}

// Run keeps caches coherent with the changes w reports until ctx ends.
func Run(ctx context.Context, w storage.Watcher, recheck time.Duration, log *slog.Logger, caches ...Cache) {
	purge := func() {
		for _, c := range caches {
			c.Purge()
		}
	}
	go func() {
		t := time.NewTicker(recheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				purge()
			}
		}
	}()
	err := w.Watch(ctx, func(path string) {
		for _, c := range caches {
			c.Forget(path)
		}
	}, func() {
		log.Warn("change notifications interrupted; dropping every cache")
		purge()
	})
	if err != nil && ctx.Err() == nil {
		log.Error("watching the store failed", "error", err)
	}
}
