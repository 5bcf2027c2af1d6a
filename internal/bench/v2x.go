package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/v2x/ee"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/sdk"
)

// v2xWorld is the deployment a v2x-issue run asks for pseudonyms: made
// once per target, its authorities in tenants of their own.
type v2xWorld struct {
	dep     sdk.V2XDeployment
	pin     ieee1609.HashedId8
	eca     *sdk.Client // a token of the ECA's tenant
	devices int         // vehicles enrolled so far
}

// week is what one request asks for: one i-period of the default
// deployment, CertsPerPeriod certificates.
const week = 7 * 24 * time.Hour

// bsm is the PSID the vehicles ask certificates for.
var bsm = []ieee1609.Psid{32}

// prepareV2X enrols a fresh vehicle in the run's deployment and builds a
// request whose every body is a new pseudonym request of that vehicle
// (fresh butterfly keys, signed and encrypted to the RA), so that each
// one makes the RA expand, fetch pre-linkage values and queue a week of
// certificates for the PCA.
func (a *api) prepareV2X(ctx context.Context, cfg Config) (Request, error) {
	if a.caBase == "" {
		return Request{}, fmt.Errorf("%s does not offer %s here", a.name, cfg.Op)
	}
	base := strings.TrimSuffix(a.caBase, "/v1/ca")
	w, id, err := a.v2xDevice(ctx, cfg, base)
	if err != nil {
		return Request{}, err
	}
	st, err := ee.NewState(rand.Reader, id, "vehicle", w.pin)
	if err != nil {
		return Request{}, err
	}
	st.Deployment = w.dep.Name
	dev, err := ee.Open(st)
	if err != nil {
		return Request{}, err
	}
	public, err := sdk.New(base)
	if err != nil {
		return Request{}, err
	}
	trans := public.V2X().Transport(w.dep.Name)
	if err := dev.UpdateTrust(ctx, trans); err != nil {
		return Request{}, fmt.Errorf("trust list: %w", err)
	}
	if err := dev.Enrol(ctx, trans, bsm); err != nil {
		return Request{}, fmt.Errorf("enrolling %s: %w", id, err)
	}
	c := &capture{Transport: trans}
	next := func() ([]byte, error) {
		if _, err := dev.RequestPseudonyms(ctx, c, week, bsm); !errors.Is(err, errCaptured) {
			return nil, fmt.Errorf("making a pseudonym request: %w", err)
		}
		return c.spdu, nil
	}
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	return Request{Method: "POST", URL: base + "/v1/v2x/" + w.dep.Name + "/requests", Header: h, Items: w.dep.CertsPerPeriod, Next: next}, nil
}

// v2xDevice returns the run's deployment, making it on first use, and
// the id of a new vehicle on its allow-list.
func (a *api) v2xDevice(ctx context.Context, cfg Config, base string) (*v2xWorld, string, error) {
	a.v2xMu.Lock()
	defer a.v2xMu.Unlock()
	if a.v2x == nil {
		w, err := newV2XWorld(ctx, base, a.header.Get("Authorization"), cfg.Key)
		if err != nil {
			return nil, "", err
		}
		a.v2x = w
	}
	w := a.v2x
	w.devices++
	id := fmt.Sprintf("VIN-%d", w.devices)
	if err := w.eca.V2X().AllowDevices(ctx, w.dep.Name, []sdk.V2XDevice{{ID: id}}); err != nil {
		return nil, "", err
	}
	return w, id, nil
}

// newV2XWorld creates seven tenants and a deployment with the root
// token in auth ("Bearer ..."); names carry a random suffix so that runs
// against one server do not collide.
func newV2XWorld(ctx context.Context, base, auth, prefix string) (*v2xWorld, error) {
	root, err := sdk.New(base, sdk.WithToken(strings.TrimPrefix(auth, "Bearer ")))
	if err != nil {
		return nil, err
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, err
	}
	name := prefix + "-" + hex.EncodeToString(suffix[:])
	tenants := map[string]sdk.TenantCreated{}
	for _, role := range []string{"root", "eca", "ra", "la1", "la2", "pca", "ma"} {
		if tenants[role], err = root.Auth().CreateTenant(ctx, name+"-"+role); err != nil {
			return nil, fmt.Errorf("v2x-issue needs the root token: %w", err)
		}
	}
	t := func(role string) string { return name + "-" + role }
	dep, err := root.V2X().CreateDeployment(ctx, sdk.V2XDeploymentRequest{Name: name, Tenants: sdk.V2XTenants{
		Root: t("root"), ECA: t("eca"), RA: t("ra"), LA1: t("la1"), LA2: t("la2"), PCA: t("pca"), MA: t("ma"),
	}})
	if err != nil {
		return nil, err
	}
	w := &v2xWorld{dep: dep}
	pin, err := hex.DecodeString(dep.RootPin)
	if err != nil || len(pin) != len(w.pin) {
		return nil, fmt.Errorf("root pin %q", dep.RootPin)
	}
	copy(w.pin[:], pin)
	if w.eca, err = sdk.New(base, sdk.WithToken(tenants["eca"].Token)); err != nil {
		return nil, err
	}
	return w, nil
}

// capture is a device transport that keeps the pseudonym request in
// place of sending it.
type capture struct {
	ee.Transport
	spdu []byte
}

var errCaptured = errors.New("captured")

// Request implements ee.Transport.
func (c *capture) Request(_ context.Context, spdu []byte) ([]byte, error) {
	c.spdu = spdu
	return nil, errCaptured
}
