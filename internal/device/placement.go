package device

import "context"

// Placer is implemented by a device made of named member devices (a
// pool): a key is placed on one of them, chosen by the context that
// Generate and Restore get (WithPlacement).
type Placer interface {
	Device
	// Members names the member devices, in configuration order.
	Members() []string
}

type placementKey struct{}

// WithPlacement returns ctx asking Generate and Restore of a Placer to
// place the key on the member device name.
func WithPlacement(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, placementKey{}, name)
}

// Placement returns the member device ctx asks for, "" for none.
func Placement(ctx context.Context) string {
	name, _ := ctx.Value(placementKey{}).(string)
	return name
}
