package sdk

import (
	"context"
	"io"
	"net/http"
	"time"
)

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

// Health reports the seal state; it does not fail when the server is
// sealed.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.do(ctx, http.MethodGet, healthPath, nil, &h)
}

// InitResult holds the key shares and root token, shown once.
type InitResult struct {
	Shares    []string `json:"shares"`
	RootToken string   `json:"root_token"`
}

// Init initialises a new cluster whose root token does not expire.
func (c *Client) Init(ctx context.Context, shares, threshold int) (InitResult, error) {
	return c.InitCluster(ctx, InitRequest{Shares: shares, Threshold: threshold})
}

// SealStatus is the answer to unseal and seal.
type SealStatus struct {
	Sealed    bool `json:"sealed"`
	Progress  int  `json:"progress"`
	Threshold int  `json:"threshold"`
}

// Unseal enters one key share.
func (c *Client) Unseal(ctx context.Context, share string) (SealStatus, error) {
	var s SealStatus
	return s, c.do(ctx, http.MethodPost, "/v1/sys/unseal", map[string]string{"share": share}, &s)
}

// ResetUnseal forgets the shares entered so far.
func (c *Client) ResetUnseal(ctx context.Context) (SealStatus, error) {
	var s SealStatus
	return s, c.do(ctx, http.MethodPost, "/v1/sys/unseal", map[string]bool{"reset": true}, &s)
}

// Seal wipes the server's keys from memory (root token).
func (c *Client) Seal(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/sys/seal", nil, nil)
}

// KeyStatus describes the barrier keyring.
type KeyStatus struct {
	Term        uint32    `json:"term"`
	Terms       int       `json:"terms"`
	InstallTime time.Time `json:"install_time"`
}

// Rotate adds a barrier keyring term (root token).
func (c *Client) Rotate(ctx context.Context) (KeyStatus, error) {
	var k KeyStatus
	return k, c.do(ctx, http.MethodPost, "/v1/sys/rotate", nil, &k)
}

// KeyStatus reports the active barrier keyring term (root token).
func (c *Client) KeyStatus(ctx context.Context) (KeyStatus, error) {
	var k KeyStatus
	return k, c.do(ctx, http.MethodGet, "/v1/sys/key-status", nil, &k)
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

// VerifyAudit has the server verify its audit log (root token).
func (c *Client) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var r AuditReport
	return r, c.do(ctx, http.MethodGet, "/v1/audit/verify", nil, &r)
}

// ExportAudit copies the audit log, as JSON lines, to w (root token).
func (c *Client) ExportAudit(ctx context.Context, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, "/v1/audit/export", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
