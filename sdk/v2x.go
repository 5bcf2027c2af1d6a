package sdk

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// V2XClient groups the calls on the V2X SCMS: deployments, devices, linkage authorities and the SCMS transport; get it with [Client.V2X].
type V2XClient struct{ c *Client }

// V2X returns the client of the V2X SCMS: deployments, devices, linkage authorities and the SCMS transport.
func (c *Client) V2X() V2XClient { return V2XClient{c} }

// V2XTenants places the authorities of a V2X deployment: RA, LA1, LA2,
// PCA and MA in five different tenants. LA1 or LA2 is empty when the LA
// is at another cluster (V2XRemoteLA).
type V2XTenants struct {
	Root string `json:"root"`
	ECA  string `json:"eca"`
	RA   string `json:"ra"`
	LA1  string `json:"la1"`
	LA2  string `json:"la2"`
	PCA  string `json:"pca"`
	MA   string `json:"ma"`
}

// V2XRegion restricts a deployment's certificates: countries (UN M.49
// codes, e.g. 156 for China) or a circle.
type V2XRegion struct {
	Countries []uint16   `json:"countries,omitempty"`
	Circle    *V2XCircle `json:"circle,omitempty"`
}

// V2XCircle is a centre in degrees and a radius in metres.
type V2XCircle struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Radius    uint16  `json:"radius"`
}

// V2XDeploymentRequest creates a deployment (root token).
type V2XDeploymentRequest struct {
	Name           string       `json:"name"`
	Tenants        V2XTenants   `json:"tenants"`
	Region         *V2XRegion   `json:"region,omitempty"`
	VehiclePsids   []uint64     `json:"vehicle_psids,omitempty"`
	RoadsidePsids  []uint64     `json:"roadside_psids,omitempty"`
	CertsPerPeriod int          `json:"certs_per_period,omitempty"`
	Period         string       `json:"period,omitempty"` // Go duration, default one week
	MaxPeriods     int          `json:"max_periods,omitempty"`
	RetainPeriods  int          `json:"retain_periods,omitempty"`
	RemoteLA1      *V2XRemoteLA `json:"remote_la1,omitempty"`
	RemoteLA2      *V2XRemoteLA `json:"remote_la2,omitempty"`
}

// V2XRemoteLA places a deployment's LA at another mima cluster: the
// address of its API, the name of the standalone LA there, a token of
// the tenant there that holds it (never shown back), and the CA
// certificates (PEM) of that cluster's TLS certificate if not the
// system's.
type V2XRemoteLA struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	Token  string `json:"token,omitempty"`
	CACert string `json:"ca_cert,omitempty"`
}

// V2XLARequest creates a standalone LA in the caller's tenant, to serve
// a deployment of another cluster: the id the deployment gives it (hex,
// "0001" or "0002"), the deployment's PCA certificate (COER), and its
// i-period and retention (defaults 168h and 13).
type V2XLARequest struct {
	Name          string `json:"name"`
	ID            string `json:"id"`
	PCA           []byte `json:"pca_certificate"`
	Period        string `json:"period,omitempty"`
	RetainPeriods int    `json:"retain_periods,omitempty"`
}

// V2XLA describes a standalone LA.
type V2XLA struct {
	Name          string    `json:"name"`
	ID            string    `json:"id"`
	PCA           []byte    `json:"pca_certificate"`
	Period        string    `json:"period"`
	RetainPeriods int       `json:"retain_periods"`
	Created       time.Time `json:"created"`
}

// V2XPreLinkageRequest is an RA's request to an LA: pre-linkage values
// for periods first to first+periods-1 and j < j_max, for a request made
// in period now.
type V2XPreLinkageRequest struct {
	Now     uint16 `json:"now"`
	First   uint16 `json:"first"`
	Periods int    `json:"periods"`
	JMax    int    `json:"j_max"`
}

// V2XPreLinkage is an LA's answer: per period and j, an
// EncryptedIndividualPLV (COER) for the PCA; and the chain's eLCI.
type V2XPreLinkage struct {
	PLV  [][][]byte `json:"plv"`
	ELCI string     `json:"elci"`
}

// V2XSeedRequest is an MA's request to an LA: the seed at period i_rev of
// the chain an eLCI names.
type V2XSeedRequest struct {
	ELCI string `json:"elci"`
	IRev uint16 `json:"i_rev"`
}

// V2XSeed is a linkage chain's seed (hex) at period at, and the chain's
// last period.
type V2XSeed struct {
	Seed string `json:"seed"`
	At   uint16 `json:"at"`
	End  uint16 `json:"end"`
}

// V2XDeployment describes a deployment. RootPin is the HashedId8 (hex)
// devices pin; Certificates are the authorities' (COER) by role.
type V2XDeployment struct {
	Name           string            `json:"name"`
	Tenants        V2XTenants        `json:"tenants"`
	Profile        string            `json:"profile"`
	Created        time.Time         `json:"created"`
	Period         string            `json:"period"`
	CertsPerPeriod int               `json:"certs_per_period"`
	MaxPeriods     int               `json:"max_periods"`
	RetainPeriods  int               `json:"retain_periods"`
	RemoteLA1      *V2XRemoteLA      `json:"remote_la1,omitempty"`
	RemoteLA2      *V2XRemoteLA      `json:"remote_la2,omitempty"`
	VehiclePsids   []uint64          `json:"vehicle_psids"`
	RoadsidePsids  []uint64          `json:"roadside_psids"`
	RootPin        string            `json:"root_pin"`
	Certificates   map[string][]byte `json:"certificates"`
	// SigningInput names the SM2 signing input of the authorities'
	// signatures: "gbt45112-2024" (GB/T 45112-2024).
	SigningInput string `json:"signing_input"`
}

// V2XDevice is an entry of the ECA's allow-list.
type V2XDevice struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind,omitempty"` // vehicle (default) or roadside
	Added    time.Time `json:"added,omitzero"`
	Enrolled []string  `json:"enrolled,omitempty"`
	Blocked  bool      `json:"blocked,omitempty"`
}

// V2XDevices is the body that adds devices to the allow-list.
type V2XDevices struct {
	Devices []V2XDevice `json:"devices"`
}

// V2XFlush is how many certificates a flush of the RA's queue issued.
type V2XFlush struct {
	Issued int `json:"issued"`
}

// V2XReport names a misbehaving device's certificate (COER).
type V2XReport struct {
	Certificate []byte `json:"certificate"`
}

// V2XRevocation is the outcome of a misbehaviour report.
type V2XRevocation struct {
	Certificate string    `json:"certificate"`
	Kind        string    `json:"kind"`
	IRev        uint16    `json:"i_rev,omitempty"`
	Enrolment   string    `json:"enrolment"`
	Reported    time.Time `json:"reported"`
}

// V2XCRLs is how many CRLs were issued.
type V2XCRLs struct {
	Issued int `json:"issued"`
}

func v2xPath(dep string, rest ...string) string { return objectPath("v2x", dep, rest...) }

func v2xLAPath(name string, rest ...string) string { return objectPath("v2x-las", name, rest...) }

// V2XTransport carries a device's COER messages to a deployment's
// authorities; it needs no token.
type V2XTransport struct {
	c   *Client
	dep string
}

// Enrol sends an EeEcaCertRequestSpdu and returns the ECA's answer.
func (t *V2XTransport) Enrol(ctx context.Context, spdu []byte) ([]byte, error) {
	return t.post(ctx, "enrol", spdu)
}

// Request sends an EeRaCertRequestSpdu and returns the RA's acknowledgement.
func (t *V2XTransport) Request(ctx context.Context, spdu []byte) ([]byte, error) {
	return t.post(ctx, "requests", spdu)
}

// Download sends an EeRaDownloadRequestSpdu and returns the file.
func (t *V2XTransport) Download(ctx context.Context, spdu []byte) ([]byte, error) {
	return t.post(ctx, "downloads", spdu)
}

// TrustList fetches the CertificateChainSpdu.
func (t *V2XTransport) TrustList(ctx context.Context) ([]byte, error) {
	return t.get(ctx, "trust-list")
}

// CRL fetches the CompositeCrlSpdu.
func (t *V2XTransport) CRL(ctx context.Context) ([]byte, error) {
	return t.get(ctx, "crl")
}

func (t *V2XTransport) post(ctx context.Context, what string, spdu []byte) ([]byte, error) {
	req, err := t.c.newRequest(ctx, http.MethodPost, v2xPath(t.dep, what), bytes.NewReader(spdu))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	return t.read(req)
}

func (t *V2XTransport) get(ctx context.Context, what string) ([]byte, error) {
	req, err := t.c.newRequest(ctx, http.MethodGet, v2xPath(t.dep, what), nil)
	if err != nil {
		return nil, err
	}
	return t.read(req)
}

func (t *V2XTransport) read(req *http.Request) ([]byte, error) {
	resp, err := t.c.doRequest(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// CreateDeployment creates a deployment's authorities (root token).
func (cl V2XClient) CreateDeployment(ctx context.Context, req V2XDeploymentRequest) (V2XDeployment, error) {
	return one[V2XDeployment](ctx, cl.c, "/v1/v2x", req)
}

// GetDeployment describes a deployment (root token).
func (cl V2XClient) GetDeployment(ctx context.Context, name string) (V2XDeployment, error) {
	var out V2XDeployment
	return out, cl.c.do(ctx, http.MethodGet, v2xPath(name), nil, &out)
}

// Migrate re-issues the authority certificates and CRLs of a
// deployment made by an earlier mima under GB/T 45112-2024's SM2 signing
// input, and describes it (root token). It changes nothing in a deployment
// already migrated.
func (cl V2XClient) Migrate(ctx context.Context, name string) (V2XDeployment, error) {
	return one[V2XDeployment](ctx, cl.c, v2xPath(name, "migrate"), struct{}{})
}

// ListDeployments names the deployments (root token).
func (cl V2XClient) ListDeployments(ctx context.Context) ([]string, error) {
	var out []string
	return out, cl.c.do(ctx, http.MethodGet, "/v1/v2x", nil, &out)
}

// AllowDevices adds devices to the ECA's allow-list (a token of the
// ECA's tenant).
func (cl V2XClient) AllowDevices(ctx context.Context, dep string, devices []V2XDevice) error {
	return cl.c.do(ctx, http.MethodPut, v2xPath(dep, "devices"), V2XDevices{Devices: devices}, nil)
}

// GetDevice reads an allow-list entry (ECA's tenant).
func (cl V2XClient) GetDevice(ctx context.Context, dep, id string) (V2XDevice, error) {
	var out V2XDevice
	return out, cl.c.do(ctx, http.MethodGet, v2xPath(dep, "devices", id), nil, &out)
}

// Flush sends the RA's queued requests to the PCA now (RA's tenant).
func (cl V2XClient) Flush(ctx context.Context, dep string) (V2XFlush, error) {
	return one[V2XFlush](ctx, cl.c, v2xPath(dep, "flush"), struct{}{})
}

// Report reports a misbehaving device's certificate (MA's tenant).
func (cl V2XClient) Report(ctx context.Context, dep string, cert []byte) (V2XRevocation, error) {
	return one[V2XRevocation](ctx, cl.c, v2xPath(dep, "reports"), V2XReport{Certificate: cert})
}

// IssueCRLs signs new CRLs now (root CA's tenant).
func (cl V2XClient) IssueCRLs(ctx context.Context, dep string) (V2XCRLs, error) {
	return one[V2XCRLs](ctx, cl.c, v2xPath(dep, "crls"), struct{}{})
}

// CreateLA creates a standalone LA in the caller's tenant.
func (cl V2XClient) CreateLA(ctx context.Context, req V2XLARequest) (V2XLA, error) {
	return one[V2XLA](ctx, cl.c, "/v1/v2x-las", req)
}

// GetLA describes a standalone LA of the caller's tenant.
func (cl V2XClient) GetLA(ctx context.Context, name string) (V2XLA, error) {
	var out V2XLA
	return out, cl.c.do(ctx, http.MethodGet, v2xLAPath(name), nil, &out)
}

// PreLinkage asks a standalone LA for pre-linkage values (what a
// remote deployment's RA does).
func (cl V2XClient) PreLinkage(ctx context.Context, name string, req V2XPreLinkageRequest) (V2XPreLinkage, error) {
	return one[V2XPreLinkage](ctx, cl.c, v2xLAPath(name, "pre-linkage"), req)
}

// LinkageSeed asks a standalone LA for a chain's seed (what a remote
// deployment's MA does).
func (cl V2XClient) LinkageSeed(ctx context.Context, name string, req V2XSeedRequest) (V2XSeed, error) {
	return one[V2XSeed](ctx, cl.c, v2xLAPath(name, "seeds"), req)
}

// Transport returns the device transport of deployment dep.
func (cl V2XClient) Transport(dep string) *V2XTransport { return &V2XTransport{c: cl.c, dep: dep} }
