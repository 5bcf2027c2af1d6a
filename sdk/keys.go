package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// KeysClient groups the calls on the keys of the tenant: their lifecycle, aliases, import, export and backup; get it with [Client.Keys].
type KeysClient struct{ c *Client }

// Keys returns the client of the keys of the tenant: their lifecycle, aliases, import, export and backup.
func (c *Client) Keys() KeysClient { return KeysClient{c} }

// KeyType is the algorithm of a key.
type KeyType string

// The key types.
const (
	KeyTypeSM4           KeyType = "sm4"             // SM4 block cipher key (GB/T 32907)
	KeyTypeSM2           KeyType = "sm2"             // SM2 key pair (GB/T 32918)
	KeyTypeHMACSM3       KeyType = "hmac-sm3"        // HMAC-SM3 key
	KeyTypeSM9SignMaster KeyType = "sm9-sign-master" // SM9 signature master key of a KGC
	KeyTypeSM9EncMaster  KeyType = "sm9-enc-master"  // SM9 encryption master key of a KGC
	KeyTypeZUC128        KeyType = "zuc-128"         // ZUC-128 key (GB/T 33133)
	KeyTypeZUC256        KeyType = "zuc-256"         // ZUC-256 key
)

// KeyState is the lifecycle state of a key.
type KeyState string

// The key states.
const (
	KeyEnabled         KeyState = "enabled"          // usable
	KeyDisabled        KeyState = "disabled"         // listed but unusable until enabled
	KeyPendingDeletion KeyState = "pending_deletion" // destroyed at its deletion date unless cancelled
)

// Key describes a key and its versions; never its material.
type Key struct {
	Name                 string            `json:"name"`
	Type                 KeyType           `json:"type"`
	Description          string            `json:"description,omitempty"`
	Tags                 map[string]string `json:"tags,omitempty"`
	Exportable           bool              `json:"exportable"`
	Derived              bool              `json:"derived"`
	State                KeyState          `json:"state"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	DeletionDate         *time.Time        `json:"deletion_date,omitempty"`
	AutoRotatePeriod     string            `json:"auto_rotate_period,omitempty"`
	NextRotation         *time.Time        `json:"next_rotation,omitempty"`
	LatestVersion        int               `json:"latest_version"`
	MinDecryptionVersion int               `json:"min_decryption_version"`
	MinEncryptionVersion int               `json:"min_encryption_version"`
	Versions             []KeyVersion      `json:"versions"`
	// Device is the device of the pool the key was placed on, "" when the
	// pool chose.
	Device string `json:"device,omitempty"`
}

// KeyVersion is one version of a key. Encryptions counts the SM4-GCM
// encryptions made with it (sm4 keys), an upper bound that stays below the
// server's nonce_limit: the key rotates first.
type KeyVersion struct {
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	Imported    bool      `json:"imported,omitempty"`
	Encryptions uint64    `json:"encryptions"`
}

// CreateKeyRequest describes a key to create. AutoRotatePeriod is a Go duration ("720h") or empty.
type CreateKeyRequest struct {
	Name             string            `json:"name"`
	Type             KeyType           `json:"type"`
	Description      string            `json:"description,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	Exportable       bool              `json:"exportable,omitempty"`
	Derived          bool              `json:"derived,omitempty"`
	AutoRotatePeriod string            `json:"auto_rotate_period,omitempty"`
	// Device places the key on this device of the server's pool.
	Device string `json:"device,omitempty"`
}

// KeyList is one page of keys; Next is the cursor of the next page.
type KeyList struct {
	Keys []Key  `json:"keys"`
	Next string `json:"next,omitempty"`
}

// ListKeysOptions filters and pages ListKeys. Tag is "name=value".
type ListKeysOptions struct {
	After string
	Limit int
	Type  KeyType
	State KeyState
	Tags  []string
}

// KeyConfig sets a key's minimum versions.
type KeyConfig struct {
	MinDecryptionVersion int `json:"min_decryption_version"`
	MinEncryptionVersion int `json:"min_encryption_version,omitempty"`
}

// Alias names a key; it can be re-pointed. Its name starts with "alias:".
type Alias struct {
	Name      string    `json:"name"`
	Target    string    `json:"target"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AliasList is one page of aliases.
type AliasList struct {
	Aliases []Alias `json:"aliases"`
	Next    string  `json:"next,omitempty"`
}

func keyPath(name string, rest ...string) string { return objectPath("keys", name, rest...) }

// keyAction posts an action without a body to a key and returns the key.
func (c *Client) keyAction(ctx context.Context, name, action string, body any) (Key, error) {
	var k Key
	return k, c.do(ctx, http.MethodPost, keyPath(name, action), body, &k)
}

// Create creates a key.
func (cl KeysClient) Create(ctx context.Context, req CreateKeyRequest) (Key, error) {
	var k Key
	return k, cl.c.do(ctx, http.MethodPost, "/v1/keys", req, &k)
}

// Get describes a key (or the key an alias names).
func (cl KeysClient) Get(ctx context.Context, name string) (Key, error) {
	var k Key
	return k, cl.c.do(ctx, http.MethodGet, keyPath(name), nil, &k)
}

// List lists one page of the tenant's keys.
func (cl KeysClient) List(ctx context.Context, opts ListKeysOptions) (KeyList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("after", opts.After)
	set("type", string(opts.Type))
	set("state", string(opts.State))
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	for _, t := range opts.Tags {
		q.Add("tag", t)
	}
	path := "/v1/keys"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l KeyList
	return l, cl.c.do(ctx, http.MethodGet, path, nil, &l)
}

// Rotate adds a version that later encryptions use.
func (cl KeysClient) Rotate(ctx context.Context, name string) (Key, error) {
	return cl.c.keyAction(ctx, name, "rotate", nil)
}

// Configure sets the minimum decryption and encryption versions.
func (cl KeysClient) Configure(ctx context.Context, name string, cfg KeyConfig) (Key, error) {
	return cl.c.keyAction(ctx, name, "config", cfg)
}

// Enable makes a disabled key usable again.
func (cl KeysClient) Enable(ctx context.Context, name string) (Key, error) {
	return cl.c.keyAction(ctx, name, "enable", nil)
}

// Disable makes a key unusable; it stays listed.
func (cl KeysClient) Disable(ctx context.Context, name string) (Key, error) {
	return cl.c.keyAction(ctx, name, "disable", nil)
}

// ScheduleDeletion schedules a key's destruction after pendingDays
// (7 to 30; 0 means 30).
func (cl KeysClient) ScheduleDeletion(ctx context.Context, name string, pendingDays int) (Key, error) {
	path := keyPath(name)
	if pendingDays > 0 {
		path += "?pending_days=" + strconv.Itoa(pendingDays)
	}
	var k Key
	return k, cl.c.do(ctx, http.MethodDelete, path, nil, &k)
}

// CancelDeletion cancels a scheduled destruction; the key is left
// disabled.
func (cl KeysClient) CancelDeletion(ctx context.Context, name string) (Key, error) {
	return cl.c.keyAction(ctx, name, "cancel-delete", nil)
}

// PublicKeyPEM returns the SM2 public key of a version (0: the newest) as
// PEM.
func (cl KeysClient) PublicKeyPEM(ctx context.Context, name string, version int) (string, error) {
	path := keyPath(name, "public")
	if version > 0 {
		path += "?version=" + strconv.Itoa(version)
	}
	return cl.c.text(ctx, path)
}

// AllPublicKeysPEM returns the SM2 public key of every version, oldest
// first, each PEM block headed by a comment line "# NAME version N".
func (cl KeysClient) AllPublicKeysPEM(ctx context.Context, name string) (string, error) {
	return cl.c.text(ctx, keyPath(name, "public")+"?all_versions=true")
}

// CreateAlias creates an alias ("alias:<name>") for a key.
func (cl KeysClient) CreateAlias(ctx context.Context, alias, target string) (Alias, error) {
	var a Alias
	return a, cl.c.do(ctx, http.MethodPost, "/v1/aliases", map[string]string{"name": alias, "target": target}, &a)
}

// UpdateAlias points an alias at another key.
func (cl KeysClient) UpdateAlias(ctx context.Context, alias, target string) (Alias, error) {
	var a Alias
	return a, cl.c.do(ctx, http.MethodPut, "/v1/aliases/"+url.PathEscape(alias), map[string]string{"target": target}, &a)
}

// DeleteAlias deletes an alias; the key stays.
func (cl KeysClient) DeleteAlias(ctx context.Context, alias string) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/aliases/"+url.PathEscape(alias), nil, nil)
}

// ListAliases lists one page of aliases.
func (cl KeysClient) ListAliases(ctx context.Context, after string, limit int) (AliasList, error) {
	var l AliasList
	return l, cl.c.do(ctx, http.MethodGet, pagePath("/v1/aliases", after, limit), nil, &l)
}

// ImportParams asks for a new one-time wrapping key for key.
func (cl KeysClient) ImportParams(ctx context.Context, key string) (ImportParams, error) {
	var p ImportParams
	return p, cl.c.do(ctx, http.MethodPost, keyPath(key, "import-params"), nil, &p)
}

// Import adds wrapped material as the key's next version.
func (cl KeysClient) Import(ctx context.Context, key string, req ImportRequest) (Key, error) {
	return cl.c.keyAction(ctx, key, "import", req)
}

// Export returns a version of an exportable key wrapped under an SM2
// public key.
func (cl KeysClient) Export(ctx context.Context, key string, req ExportRequest) (ExportedKey, error) {
	return one[ExportedKey](ctx, cl.c, keyPath(key, "export"), req)
}

// Backup returns the key with all its versions as a blob encrypted under
// password, restorable into any mima cluster.
func (cl KeysClient) Backup(ctx context.Context, key, password string) ([]byte, error) {
	var out struct {
		Backup []byte `json:"backup"`
	}
	return out.Backup, cl.c.do(ctx, http.MethodPost, keyPath(key, "backup"), map[string]string{"password": password}, &out)
}

// Restore restores a backup made by Backup.
func (cl KeysClient) Restore(ctx context.Context, req RestoreRequest) (Key, error) {
	var k Key
	return k, cl.c.do(ctx, http.MethodPost, "/v1/keys/restore", req, &k)
}
