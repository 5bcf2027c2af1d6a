package sdk

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
)

// TSAClient groups the calls on the timestamp authorities (RFC 3161); get it with [Client.TSA].
type TSAClient struct{ c *Client }

// TSA returns the client of the timestamp authorities (RFC 3161).
func (c *Client) TSA() TSAClient { return TSAClient{c} }

// Create creates a timestamp authority.
func (cl TSAClient) Create(ctx context.Context, req TSARequest) (TSA, error) {
	return one[TSA](ctx, cl.c, "/v1/tsas", req)
}

// Timestamp sends a DER TimeStampReq to TSA name ("" for "default") and
// returns the DER TimeStampResp.
func (cl TSAClient) Timestamp(ctx context.Context, name string, req []byte) ([]byte, error) {
	path := "/v1/tsa"
	if name != "" {
		path += "/" + url.PathEscape(name)
	}
	resp, err := cl.c.postBody(ctx, path, "application/timestamp-query", "", bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Chain returns a TSA's certificate chain, PEM.
func (cl TSAClient) Chain(ctx context.Context, name string) (string, error) {
	return cl.c.text(ctx, "/v1/tsa/"+url.PathEscape(name)+"/certificate")
}

// Verify verifies a timestamp token.
func (cl TSAClient) Verify(ctx context.Context, req TimestampVerifyRequest) (TimestampReport, error) {
	return one[TimestampReport](ctx, cl.c, "/v1/tsa/verify", req)
}

// List lists the tenant's timestamp authorities.
func (cl TSAClient) List(ctx context.Context) ([]TSA, error) {
	var r struct {
		TSAs []TSA `json:"tsas"`
	}
	return r.TSAs, cl.c.do(ctx, http.MethodGet, "/v1/tsas", nil, &r)
}
