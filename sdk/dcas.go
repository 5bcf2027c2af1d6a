package sdk

import "context"

// DCASClient is the part of the API for the DCAS key ladder of a vendor root key: chip key injection, EMMs and ECMs.
type DCASClient struct{ c *Client }

// DCAS returns the DCAS sub-client.
func (c *Client) DCAS() DCASClient { return DCASClient{c} }

// DCASEMMRequest asks POST /v1/keys/{name}/dcas/emm for the entitlement
// management messages of chips (ChipIDs in hex, 1 to 10,000 per call) for
// one entitlement period, under a vendor root key (a derived sm4 key).
type DCASEMMRequest struct {
	Chips   []string `json:"chips"`
	Period  int64    `json:"period"`
	Version int      `json:"version,omitempty"`
}

// DCASEMMs holds one EMM per chip, in the order asked, and the vendor key
// version that made them.
type DCASEMMs struct {
	EMMs       [][]byte `json:"emms"`
	KeyVersion int      `json:"key_version"`
}

// DCASECMRequest asks POST /v1/keys/{name}/dcas/ecm for the entitlement
// control message of a channel in an entitlement period. CW is the
// scrambler's control word (16 bytes); without it mima makes one.
type DCASECMRequest struct {
	Channel string `json:"channel"`
	Period  int64  `json:"period"`
	CW      []byte `json:"cw,omitempty"`
	Version int    `json:"version,omitempty"`
}

// DCASECM is an ECM, the control word it carries (for the scrambler) and
// the vendor key version.
type DCASECM struct {
	ECM        []byte `json:"ecm"`
	CW         []byte `json:"cw"`
	KeyVersion int    `json:"key_version"`
}

// DCASInjectRequest asks POST /v1/keys/{name}/dcas/inject for the keys of
// chips, encrypted to the injection station's SM2 public key (PEM).
type DCASInjectRequest struct {
	Chips      []string `json:"chips"`
	StationKey string   `json:"station_key"`
	Version    int      `json:"version,omitempty"`
}

// DCASInjectBlock is one injection block (docs/media.md) and the vendor
// key version.
type DCASInjectBlock struct {
	Block      []byte `json:"block"`
	KeyVersion int    `json:"key_version"`
}

// DCASEMMs returns the EMMs of chips for a period.
func (cl DCASClient) EMMs(ctx context.Context, key string, req DCASEMMRequest) (DCASEMMs, error) {
	return one[DCASEMMs](ctx, cl.c, keyPath(key, "dcas", "emm"), req)
}

// DCASECM returns the ECM of a channel for a period.
func (cl DCASClient) ECM(ctx context.Context, key string, req DCASECMRequest) (DCASECM, error) {
	return one[DCASECM](ctx, cl.c, keyPath(key, "dcas", "ecm"), req)
}

// DCASInject returns the injection block of chips for a station.
func (cl DCASClient) Inject(ctx context.Context, key string, req DCASInjectRequest) (DCASInjectBlock, error) {
	return one[DCASInjectBlock](ctx, cl.c, keyPath(key, "dcas", "inject"), req)
}

// DCASImageKeyRequest asks POST /v1/keys/{name}/dcas/image-key for the
// key of one terminal software image.
type DCASImageKeyRequest struct {
	Version int `json:"version,omitempty"`
}

// DCASImageKey is a fresh image key, the same key under the vendor key's
// BL_KEY0 (one SM4 block, for the image's header), and the vendor key
// version.
type DCASImageKey struct {
	Key        []byte `json:"key"`
	Wrapped    []byte `json:"wrapped"`
	KeyVersion int    `json:"key_version"`
}

// ImageKey returns the key of a new software image.
func (cl DCASClient) ImageKey(ctx context.Context, key string, req DCASImageKeyRequest) (DCASImageKey, error) {
	return one[DCASImageKey](ctx, cl.c, keyPath(key, "dcas", "image-key"), req)
}
