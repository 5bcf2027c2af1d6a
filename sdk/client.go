// Package sdk is the Go client of mima's HTTP API. The mima CLI is built on
// it; applications use it the same way:
//
//	c, err := sdk.New("http://127.0.0.1:8200", sdk.WithToken(os.Getenv("MIMA_TOKEN")))
//	st, err := c.Sys().Health(ctx)
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

// Client talks to one mima server. Its sub-clients group the calls by
// service: [Client.Keys], [Client.Crypto], [Client.CA], [Client.Certs],
// [Client.CMS], [Client.TSA], [Client.Auth], [Client.Sys], [Client.V2X],
// [Client.SM9] and [Client.Data]. A Client is safe for concurrent use.
type Client struct {
	base        *url.URL
	token       string
	tenant      string
	http        *http.Client
	cborBatches bool
	retry       RetryPolicy
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client. Options compose: each sets one aspect, in
// any order, and New refuses a combination that cannot hold together.
type Option func(*settings)

// settings collects the options before New builds the client from them.
type settings struct {
	token, tenant string
	cborBatches   bool
	httpClient    *http.Client
	tlsConfig     *tls.Config
	tlcpConfig    *tlcp.Config
	retry         RetryPolicy
}

// WithToken sets the bearer token sent with every request.
func WithToken(token string) Option { return func(s *settings) { s.token = token } }

// WithTenant makes a root token act in the named tenant.
func WithTenant(tenant string) Option { return func(s *settings) { s.tenant = tenant } }

// WithCBORBatches makes the batch calls (EncryptBatch, DecryptBatch,
// SignBatch, VerifyBatch, MACBatch) send and receive application/cbor
// instead of JSON: binary values travel as bytes rather than base64, and
// both ends spend less time encoding. Errors are the same.
func WithCBORBatches() Option { return func(s *settings) { s.cborBatches = true } }

// WithHTTPClient sets the HTTP client (for custom transports and
// timeouts). WithTLSConfig and WithTLCP apply to a copy of its transport,
// which must then be nil or an *http.Transport.
func WithHTTPClient(h *http.Client) Option { return func(s *settings) { s.httpClient = h } }

// WithTLSConfig sets the TLS configuration used for https addresses.
func WithTLSConfig(cfg *tls.Config) Option { return func(s *settings) { s.tlsConfig = cfg } }

// WithTLCP makes the client reach https addresses over TLCP (GB/T 38636)
// with cfg instead of TLS: cfg.RootCAs verifies the server's dual
// certificates, cfg.Certificate is presented when the server asks for
// client certificates. A cfg without ServerName gets the address's host.
// It cannot be combined with WithTLSConfig.
func WithTLCP(cfg *tlcp.Config) Option { return func(s *settings) { s.tlcpConfig = cfg } }

// WithRetry sets how calls are retried (see [RetryPolicy]); the default
// is [DefaultRetryPolicy], and RetryPolicy{} turns retries off.
func WithRetry(p RetryPolicy) Option { return func(s *settings) { s.retry = p } }

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
	s := settings{retry: DefaultRetryPolicy()}
	for _, o := range opts {
		o(&s)
	}
	h, err := s.buildHTTP()
	if err != nil {
		return nil, err
	}
	return &Client{base: u, token: s.token, tenant: s.tenant, http: h, cborBatches: s.cborBatches, retry: s.retry, sleep: sleepContext}, nil
}

// idleConnsPerHost is how many idle connections the default client keeps
// to the server: Go's default of 2 makes a client used from many
// goroutines open and close a connection for most requests.
const idleConnsPerHost = 64

// buildHTTP is the HTTP client the settings ask for: the given one (or a
// default with a 60 s timeout and idleConnsPerHost), with its transport
// copied and given the TLS or TLCP configuration when one is set.
func (s *settings) buildHTTP() (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	h := &http.Client{Timeout: 60 * time.Second, Transport: t}
	if s.httpClient != nil {
		h = s.httpClient
	}
	if s.tlsConfig == nil && s.tlcpConfig == nil {
		return h, nil
	}
	if s.tlsConfig != nil && s.tlcpConfig != nil {
		return nil, errors.New("sdk: WithTLSConfig and WithTLCP cannot be combined: choose one protocol")
	}
	switch base := h.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		t = base.Clone()
	default:
		return nil, fmt.Errorf("sdk: WithTLSConfig and WithTLCP need WithHTTPClient's transport to be an *http.Transport, not %T", base)
	}
	if s.tlsConfig != nil {
		t.TLSClientConfig = s.tlsConfig
	} else {
		t.ForceAttemptHTTP2 = false
		t.DialTLSContext = (&tlcp.Dialer{NetDialer: &net.Dialer{Timeout: 30 * time.Second}, Config: s.tlcpConfig}).DialContext
	}
	copied := *h
	copied.Transport = t
	return &copied, nil
}

// CloseIdleConnections closes the connections the client keeps open
// between calls; a call in flight keeps its own. Call it when done with a
// client, so that its connections do not wait for the garbage collector.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

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
// an error status into *APIError. The caller closes the body of a successful
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

// postBody posts body of media type contentType to path, asking for an
// answer of media type accept ("": the server's choice).
func (c *Client) postBody(ctx context.Context, path, contentType, accept string, body io.Reader) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
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

// doRequest sends req, retrying it as c.retry allows, and turns an error
// status into *APIError.
func (c *Client) doRequest(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(req)
		wait, retry := c.retry.next(req, attempt, err)
		if !retry {
			return resp, err
		}
		if err := c.sleep(req.Context(), wait); err != nil {
			return nil, fmt.Errorf("sdk: %s %s: waiting to retry: %w", req.Method, req.URL.Path, err)
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("sdk: %s %s: replaying the body: %w", req.Method, req.URL.Path, err)
			}
			req.Body = body
		}
	}
}

// attempt sends req once and turns an error status into *APIError.
func (c *Client) attempt(req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &transportError{err: fmt.Errorf("sdk: %s %s: %w", req.Method, req.URL.Path, err)}
	}
	if resp.StatusCode < 300 || (resp.StatusCode == http.StatusServiceUnavailable && req.URL.Path == healthPath) {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp)
}

// decodeJSON decodes one JSON answer.
func decodeJSON(r io.Reader, out any) error {
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("sdk: decoding answer: %w", err)
	}
	return nil
}

// wireDuration is d as the API's duration strings: "" for 0.
func wireDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
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
