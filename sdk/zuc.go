package sdk

// ZUCRequest is one ZUC operation of POST /v1/keys/{name}/eea3 or eia3 on
// a message of Bits bits (0 for all of Input, which holds the bits rounded
// up to whole bytes). A zuc-128 key takes Count (32 bits), Bearer (0 to
// 31) and Direction (0 or 1), as 128-EEA3 and 128-EIA3 do; a zuc-256 key
// takes a 23-byte IV. MACSize, for eia3, is 4 (default), or 8 or 16 with
// zuc-256 keys.
type ZUCRequest struct {
	Count     int64       `json:"count,omitempty"`
	Bearer    int         `json:"bearer,omitempty"`
	Direction int         `json:"direction,omitempty"`
	IV        []byte      `json:"iv,omitempty"`
	Input     []byte      `json:"input"`
	Bits      int         `json:"bits,omitempty"`
	MACSize   int         `json:"mac_size,omitempty"`
	Version   int         `json:"version,omitempty"`
	Context   *Derivation `json:"context,omitempty"`
}

// EEA3Result is the message XORed with the ZUC keystream (the bits past
// the length zero) and the key version that made it.
type EEA3Result struct {
	Output     []byte     `json:"output,omitempty"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}

// EIA3Result is a ZUC MAC and the key version that made it.
type EIA3Result struct {
	MAC        []byte     `json:"mac,omitempty"`
	KeyVersion int        `json:"key_version,omitempty"`
	Error      *ItemError `json:"error,omitempty"`
}
