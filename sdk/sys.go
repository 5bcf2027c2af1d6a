package sdk

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SysClient groups the calls on the cluster: initialisation, seal, generate-root, the barrier keyring, audit, devices and usage; get it with [Client.Sys].
type SysClient struct{ c *Client }

// Sys returns the client of the cluster: initialisation, seal, generate-root, the barrier keyring, audit, devices and usage.
func (c *Client) Sys() SysClient { return SysClient{c} }

const healthPath = "/v1/sys/health"

// Health is the seal state and version of a server.
type Health struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Threshold   int    `json:"threshold,omitempty"`
	Shares      int    `json:"shares,omitempty"`
	Progress    int    `json:"progress"`
	ClusterID   string `json:"cluster_id,omitempty"`
	Unattended  bool   `json:"unattended,omitempty"`
	Version     string `json:"version"`
	// Leader is true on the node that runs the cluster's jobs (key
	// destruction and rotation, CRL reissue); a single node always does.
	Leader bool `json:"leader"`
}

// Deployment is how a node is deployed; any valid token may read it
// ([SysClient.Deployment]).
type Deployment struct {
	// SealType is how the root key is unsealed: [SealShares], [SealKEK] or
	// [SealPKCS11].
	SealType string `json:"seal_type"`
	// Listeners are the node's API endpoints as configured.
	Listeners []Listener `json:"listeners"`
}

// Seal types of [Deployment.SealType].
const (
	SealShares = "shares" // key shares entered by operators
	SealKEK    = "kek"    // unattended, with a KEK file
	SealPKCS11 = "pkcs11" // unattended, with a key in an HSM
)

// Listener is one API endpoint of a node: its configured address and
// protocol, one of [ProtocolHTTP], [ProtocolTLS], [ProtocolTLCP] and
// [ProtocolTLSTLCP].
type Listener struct {
	Addr     string `json:"addr"`
	Protocol string `json:"protocol"`
}

// Protocols of [Listener.Protocol].
const (
	ProtocolHTTP    = "http"
	ProtocolTLS     = "tls"
	ProtocolTLCP    = "tlcp"
	ProtocolTLSTLCP = "tls+tlcp" // both on one port
)

// InitResult holds the key shares and root token, shown once.
type InitResult struct {
	Shares    []string `json:"shares"`
	RootToken string   `json:"root_token"`
}

// SealStatus is the answer to unseal and seal.
type SealStatus struct {
	Sealed    bool `json:"sealed"`
	Progress  int  `json:"progress"`
	Threshold int  `json:"threshold"`
}

// KeyStatus describes the barrier keyring.
type KeyStatus struct {
	Term        uint32    `json:"term"`
	Terms       int       `json:"terms"`
	InstallTime time.Time `json:"install_time"`
}

// AuditProblem names the first bad record of an audit log.
type AuditProblem struct {
	Seq    uint64 `json:"seq"`
	Line   uint64 `json:"line"`
	Reason string `json:"reason"`
}

// AuditReport is the result of verifying the audit log.
type AuditReport struct {
	OK                 bool      `json:"ok"`
	Records            uint64    `json:"records"`
	Checkpoints        uint64    `json:"checkpoints"`
	LastCheckpointSeq  uint64    `json:"last_checkpoint_seq"`
	LastCheckpointTime time.Time `json:"last_checkpoint_time"`
	Head               string    `json:"head"`
	PublicKey          string    `json:"public_key"`
	// AfterCheckpoint counts the records after the last checkpoint, which
	// the chain alone protects: cutting them off is caught only by a
	// witness that saw a later checkpoint.
	AfterCheckpoint uint64 `json:"after_checkpoint"`
	// ExternalCheckpointSeq is the newest checkpoint known outside the log
	// (saved or witnessed); the log cannot end before it unnoticed.
	ExternalCheckpointSeq uint64        `json:"external_checkpoint_seq,omitempty"`
	FirstBad              *AuditProblem `json:"first_bad"`
	// FirstSeq is the first record verified when it is not the first of
	// the log: the older ones are only in the archive or were dropped from
	// a memory log, or verification started at a trusted checkpoint.
	FirstSeq uint64 `json:"first_seq,omitempty"`
	// Chains are the reports of each node's chain, in a cluster.
	Chains map[string]AuditReport `json:"chains,omitempty"`
}

// SearchAudit returns one page of the tenant's audit records, oldest
// first (in a cluster, node after node). A page may hold fewer records
// than asked, even none, while Next is set: the server bounds the records
// one call reads.
func (cl SysClient) SearchAudit(ctx context.Context, q AuditQuery) (AuditRecords, error) {
	v := url.Values{}
	for k, s := range map[string]string{"operation": q.Operation, "object": q.Object, "status": q.Status, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	for k, t := range map[string]time.Time{"from": q.From, "to": q.To} {
		if !t.IsZero() {
			v.Set(k, t.Format(time.RFC3339Nano))
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/audit/records"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out AuditRecords
	return out, cl.c.do(ctx, http.MethodGet, path, nil, &out)
}

// Usage reads the usage meter of the tenant the client acts in.
func (cl SysClient) Usage(ctx context.Context, q UsageQuery) (Usage, error) {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339))
	}
	if q.By != "" {
		v.Set("by", q.By)
	}
	path := "/v1/usage"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var u Usage
	return u, cl.c.do(ctx, http.MethodGet, path, nil, &u)
}

// Health reports the seal state; it does not fail when the server is
// sealed.
func (cl SysClient) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, cl.c.do(ctx, http.MethodGet, healthPath, nil, &h)
}

// Deployment reports how the node is deployed: its seal type and its
// listeners. It needs a valid token (any).
func (cl SysClient) Deployment(ctx context.Context) (Deployment, error) {
	var d Deployment
	return d, cl.c.do(ctx, http.MethodGet, "/v1/sys/deployment", nil, &d)
}

// Unseal enters one key share.
func (cl SysClient) Unseal(ctx context.Context, share string) (SealStatus, error) {
	var s SealStatus
	return s, cl.c.do(ctx, http.MethodPost, "/v1/sys/unseal", map[string]string{"share": share}, &s)
}

// ResetUnseal forgets the shares entered so far.
func (cl SysClient) ResetUnseal(ctx context.Context) (SealStatus, error) {
	var s SealStatus
	return s, cl.c.do(ctx, http.MethodPost, "/v1/sys/unseal", map[string]bool{"reset": true}, &s)
}

// Seal wipes the server's keys from memory (root token).
func (cl SysClient) Seal(ctx context.Context) error {
	return cl.c.do(ctx, http.MethodPost, "/v1/sys/seal", nil, nil)
}

// RotateKeyring adds a barrier keyring term (root token).
func (cl SysClient) RotateKeyring(ctx context.Context) (KeyStatus, error) {
	var k KeyStatus
	return k, cl.c.do(ctx, http.MethodPost, "/v1/sys/rotate", nil, &k)
}

// KeyringStatus reports the active barrier keyring term (root token).
func (cl SysClient) KeyringStatus(ctx context.Context) (KeyStatus, error) {
	var k KeyStatus
	return k, cl.c.do(ctx, http.MethodGet, "/v1/sys/key-status", nil, &k)
}

// VerifyAudit has the server verify its audit log (root token).
func (cl SysClient) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var r AuditReport
	return r, cl.c.do(ctx, http.MethodGet, "/v1/audit/verify", nil, &r)
}

// ExportAudit copies the audit log, as JSON lines, to w (root token).
func (cl SysClient) ExportAudit(ctx context.Context, w io.Writer) error {
	resp, err := cl.c.send(ctx, http.MethodGet, "/v1/audit/export", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// ListDevices describes the devices of the server's pool (root token).
func (cl SysClient) ListDevices(ctx context.Context) ([]Device, error) {
	var l DeviceList
	return l.Devices, cl.c.do(ctx, http.MethodGet, "/v1/sys/devices", nil, &l)
}

// GetDevice describes one device (root token).
func (cl SysClient) GetDevice(ctx context.Context, name string) (Device, error) {
	var d Device
	return d, cl.c.do(ctx, http.MethodGet, "/v1/sys/devices/"+url.PathEscape(name), nil, &d)
}

// DrainDevice takes a device out of the pool (drained true) or puts it
// back (root token). The state is the answering node's, not stored.
func (cl SysClient) DrainDevice(ctx context.Context, name string, drained bool) (Device, error) {
	var d Device
	return d, cl.c.do(ctx, http.MethodPost, "/v1/sys/devices/"+url.PathEscape(name)+"/drain", DrainRequest{Drained: &drained}, &d)
}

// Init initialises a new cluster.
func (cl SysClient) Init(ctx context.Context, req InitRequest) (InitResult, error) {
	var r InitResult
	return r, cl.c.do(ctx, http.MethodPost, "/v1/sys/init", req, &r)
}

// GenerateRootAttempt reports the generate-root attempt in progress.
func (cl SysClient) GenerateRootAttempt(ctx context.Context) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	return s, cl.c.do(ctx, http.MethodGet, generateRootPath, nil, &s)
}

// StartGenerateRoot starts a generate-root attempt with the one-time pad
// otp (see NewOTP); ttl makes the new root token expire (0 for never).
// Give the answer's nonce to the share custodians.
func (cl SysClient) StartGenerateRoot(ctx context.Context, otp []byte, ttl time.Duration) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	body := struct {
		OTP []byte `json:"otp"`
		TTL string `json:"ttl,omitempty"`
	}{otp, wireDuration(ttl)}
	return s, cl.c.do(ctx, http.MethodPost, generateRootPath, body, &s)
}

// UpdateGenerateRoot enters one key share into the attempt named by nonce.
func (cl SysClient) UpdateGenerateRoot(ctx context.Context, nonce, share string) (GenerateRootStatus, error) {
	var s GenerateRootStatus
	return s, cl.c.do(ctx, http.MethodPost, "/v1/sys/generate-root/update", map[string]string{"nonce": nonce, "share": share}, &s)
}

// CancelGenerateRoot ends the generate-root attempt in progress.
func (cl SysClient) CancelGenerateRoot(ctx context.Context) error {
	return cl.c.do(ctx, http.MethodDelete, generateRootPath, nil, nil)
}

// RevokeRootToken revokes the calling root token; the server refuses
// (last_root_token) unless another live root token exists.
func (cl SysClient) RevokeRootToken(ctx context.Context) error {
	return cl.c.do(ctx, http.MethodDelete, "/v1/sys/root-token", nil, nil)
}
