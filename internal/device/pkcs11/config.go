// Package pkcs11 is a device.Device on a PKCS#11 token: an HSM, a server
// crypto card or SoftHSM2, through github.com/miekg/pkcs11 (cgo).
//
// A token rarely offers the SM mechanisms, and those that do number them
// as their vendor pleases; SoftHSM2 has none. In wrapped mode, the one this
// package implements for every key type, each key is sealed with AES-GCM
// under an AES-256 key that is generated in the token, never leaves it
// (CKA_SENSITIVE, not CKA_EXTRACTABLE) and is the tenant's own; its stored
// form is that sealed blob. Every operation asks the token to open the
// blob into locked memory (mlock), computes the SM operation in process
// with the Software device, and wipes the key before it returns. No key
// leaves the device: Backup, Restore and Wrapper are not offered.
// docs/devices.md says exactly what each mode guarantees.
package pkcs11

// Config names a token. Its yaml keys are those of a `devices:` entry of
// type pkcs11.
type Config struct {
	// Library is the path of the token's PKCS#11 module, such as
	// /usr/lib/softhsm/libsofthsm2.so.
	Library string `yaml:"library"`
	// TokenLabel is the label of the token to use.
	TokenLabel string `yaml:"token_label"`
	// PINEnv names the environment variable holding the user PIN; the
	// PIN never appears in the configuration.
	PINEnv string `yaml:"pin_env"`
	// Sessions bounds the sessions open at once (default 16); a call that
	// finds none free waits for one until its context ends, then fails
	// with device.ErrBusy.
	Sessions int `yaml:"sessions"`
}

// DefaultSessions is the session bound when Config.Sessions is 0.
const DefaultSessions = 16
