package device

import "context"

type tenantKey struct{}

// WithTenant returns ctx naming the tenant a key is made for. A device
// that keeps keys apart per tenant (the PKCS#11 device wraps each
// tenant's keys under that tenant's own token key) reads it in Generate,
// Unwrap and Restore; other devices ignore it.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}

// TenantOf returns the tenant WithTenant put in ctx, or "".
func TenantOf(ctx context.Context) string {
	t, _ := ctx.Value(tenantKey{}).(string)
	return t
}
