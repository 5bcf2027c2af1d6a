package barrier

import "context"

// VerifyRootKey reports, with an error of code unseal_failed, whether
// rootKey is not the key that seals the stored keyring. It changes nothing
// and keeps no copy of the key; generate-root calls it so that a quorum of
// shares for a forged seal configuration yields nothing.
func (b *Barrier) VerifyRootKey(ctx context.Context, rootKey []byte) error {
	kr, err := b.loadKeyring(ctx, rootKey)
	if err != nil {
		return err
	}
	kr.wipe()
	return nil
}
