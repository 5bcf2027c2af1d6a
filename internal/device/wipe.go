package device

// wiper is implemented by Software keys, which can clear the key bytes
// they hold.
type wiper interface{ wipe() }

// Wipe clears the key bytes a key of the Software device holds and leaves
// it unusable. A device that opens a key for one call (the PKCS#11 device
// in wrapped mode) wipes it after the call. Keys of other devices are
// left alone. The SM4 round keys, the HMAC pads and the SM2 precomputed
// values inside github.com/emmansun/gmsm are not reachable and are left
// to the garbage collector.
func Wipe(k Key) {
	if w, ok := k.(wiper); ok {
		w.wipe()
	}
}

func (k *sm4Key) wipe()  { clear(k.key) }
func (k *hmacKey) wipe() { clear(k.key) }
func (k *sm2Key) wipe() {
	clear(k.priv.D.Bits())
	k.priv.D.SetInt64(0)
}
