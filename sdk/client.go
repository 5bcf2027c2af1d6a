// Package sdk is the Go client of mima's HTTP API. The mima CLI is built on
// it; applications use it the same way:
//
//	c, err := sdk.New("http://127.0.0.1:8200", sdk.WithToken(os.Getenv("MIMA_TOKEN")))
//	st, err := c.Health(ctx)
package sdk

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mimacrypto/mima/tlcp"
)

// Client talks to one mima server.
type Client struct {
	base        *url.URL
	token       string
	tenant      string
	http        *http.Client
	cborBatches bool
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the bearer token sent with every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithTenant makes a root token act in the named tenant.
func WithTenant(tenant string) Option { return func(c *Client) { c.tenant = tenant } }

// WithCBORBatches makes the batch calls (EncryptBatch, DecryptBatch,
// SignBatch, VerifyBatch, MACBatch) send and receive application/cbor
// instead of JSON: binary values travel as bytes rather than base64, and
// both ends spend less time encoding. Errors are the same.
func WithCBORBatches() Option { return func(c *Client) { c.cborBatches = true } }

// WithHTTPClient replaces the HTTP client (for custom transports).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTLSConfig sets the TLS configuration used for https addresses.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = cfg
		c.http = &http.Client{Transport: t, Timeout: c.http.Timeout}
	}
}

// WithTLCP makes the client reach https addresses over TLCP (GB/T 38636)
// with cfg instead of TLS: cfg.RootCAs verifies the server's dual
// certificates, cfg.Certificate is presented when the server asks for
// client certificates. A cfg without ServerName gets the address's host.
func WithTLCP(cfg *tlcp.Config) Option {
	return func(c *Client) {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ForceAttemptHTTP2 = false
		t.DialTLSContext = (&tlcp.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: cfg}).DialContext
		c.http = &http.Client{Transport: t, Timeout: c.http.Timeout}
	}
}

// New returns a client for the server at addr ("http://host:port" or
// "https://host:port"; a bare "host:port" means http).
func New(addr string, opts ...Option) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sdk: address %q must be http(s)://host:port", addr)
	}
	c := &Client{base: u, http: &http.Client{Timeout: 60 * time.Second}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Error is an error answered by the server.
type Error struct {
	Status    int    `json:"-"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// RetryAfter is how long the server asks a rate_limited client to
	// wait (its Retry-After header); zero when it did not say.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d, request %s)", e.Code, e.Message, e.Status, e.RequestID)
}

// ErrorCode returns the server's error code in err, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// do sends in as JSON (when not nil) and decodes a JSON answer into out
// (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return decodeJSON(resp.Body, out)
}

// RawAnswer is the answer of Raw: its content type and body.
type RawAnswer struct {
	ContentType string
	Body        []byte
}

// Raw sends a request to any API path ("/v1/..."), with body as JSON when
// it is not nil, and returns the answer as is: the generic read, write and
// delete commands of the CLI are built on it.
func (c *Client) Raw(ctx context.Context, method, path string, body any) (RawAnswer, error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return RawAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return RawAnswer{}, fmt.Errorf("sdk: reading answer: %w", err)
	}
	return RawAnswer{ContentType: resp.Header.Get("Content-Type"), Body: b}, nil
}

// send performs a request with a JSON body (when in is not nil) and turns
// an error status into *Error. The caller closes the body of a successful
// response.
func (c *Client) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("sdk: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.doRequest(req)
}

// newRequest builds a request with the client's token and tenant.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	u := c.base.JoinPath(path)
	if p, q, ok := strings.Cut(path, "?"); ok {
		u = c.base.JoinPath(p)
		u.RawQuery = q
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.tenant != "" {
		req.Header.Set("X-Mima-Tenant", c.tenant)
	}
	return req, nil
}

// doRequest sends req and turns an error status into *Error.
func (c *Client) doRequest(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode < 300 || (resp.StatusCode == http.StatusServiceUnavailable && req.URL.Path == healthPath) {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb struct {
		Error *Error `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error == nil {
		return nil, &Error{Status: resp.StatusCode, Code: "http_error", Message: resp.Status, RequestID: resp.Header.Get("X-Request-Id")}
	}
	eb.Error.Status = resp.StatusCode
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		eb.Error.RetryAfter = time.Duration(secs) * time.Second
	}
	return nil, eb.Error
}

// decodeJSON decodes one JSON answer.
func decodeJSON(r io.Reader, out any) error {
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("sdk: decoding answer: %w", err)
	}
	return nil
}

// objectPath is /v1/<collection>/<name>/<rest>..., each segment after the
// collection escaped.
func objectPath(collection, name string, rest ...string) string {
	p := "/v1/" + collection + "/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// pagePath is path with the cursor and page size of a paged list, each
// only when set.
func pagePath(path, after string, limit int) string {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}
