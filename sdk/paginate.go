package sdk

import (
	"context"
	"iter"
)

// pages yields every item of the pages fetch answers, starting at the
// cursor after and following each page's Next until a page has none. An
// error is yielded once and ends the sequence.
func pages[T any](after string, fetch func(after string) (items []T, next string, err error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := fetch(after)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			after = next
		}
	}
}

// All yields every key matching opts, fetching page after page from
// opts.After; opts.Limit sets the page size.
func (cl KeysClient) All(ctx context.Context, opts ListKeysOptions) iter.Seq2[Key, error] {
	return pages(opts.After, func(after string) ([]Key, string, error) {
		opts.After = after
		p, err := cl.List(ctx, opts)
		return p.Keys, p.Next, err
	})
}

// AllAliases yields every alias of the tenant, page after page.
func (cl KeysClient) AllAliases(ctx context.Context) iter.Seq2[Alias, error] {
	return pages("", func(after string) ([]Alias, string, error) {
		p, err := cl.ListAliases(ctx, after, 0)
		return p.Aliases, p.Next, err
	})
}

// All yields every certificate matching q, fetching page after page from
// q.After; q.Limit sets the page size.
func (cl CertsClient) All(ctx context.Context, q CertificatesQuery) iter.Seq2[Certificate, error] {
	return pages(q.After, func(after string) ([]Certificate, string, error) {
		q.After = after
		p, err := cl.List(ctx, q)
		return p.Certificates, p.Next, err
	})
}

// AllTokens yields every token of the tenant, page after page.
func (cl AuthClient) AllTokens(ctx context.Context) iter.Seq2[TokenInfo, error] {
	return pages("", func(after string) ([]TokenInfo, string, error) {
		p, err := cl.ListTokens(ctx, after, 0)
		return p.Tokens, p.Next, err
	})
}

// AllAuditRecords yields every audit record matching q, page after page
// from q.After.
func (cl SysClient) AllAuditRecords(ctx context.Context, q AuditQuery) iter.Seq2[AuditRecord, error] {
	return pages(q.After, func(after string) ([]AuditRecord, string, error) {
		q.After = after
		p, err := cl.SearchAudit(ctx, q)
		return p.Items, p.Next, err
	})
}
