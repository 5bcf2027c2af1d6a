package api

import (
	"encoding/hex"
	"io"
	"math"
	"net/http"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/scms"
	"github.com/mimacrypto/mima/sdk"
)

// The V2X SCMS endpoints. Devices talk COER (application/octet-stream)
// to public routes, authenticated by the IEEE 1609.2 signatures in the
// messages; operators manage a deployment with JSON, each authority's
// operations in its own tenant.

func (s *Server) createV2X(c *call) (any, error) {
	var req sdk.V2XDeploymentRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	t := req.Tenants
	tenants := scms.Tenants{Root: t.Root, ECA: t.ECA, RA: t.RA, LA1: t.LA1, LA2: t.LA2, PCA: t.PCA, MA: t.MA}
	for _, name := range []string{t.Root, t.ECA, t.RA, t.LA1, t.LA2, t.PCA, t.MA} {
		if name == "" {
			continue
		}
		if _, err := s.auth.Tenant(c.ctx, name); err != nil {
			return nil, err
		}
	}
	period, err := durationOf("period", req.Period)
	if err != nil {
		return nil, err
	}
	region, err := regionOf(req.Region)
	if err != nil {
		return nil, err
	}
	d, err := s.v2x.CreateDeployment(c.ctx, scms.DeploymentRequest{
		Name: req.Name, Tenants: tenants, Region: region,
		VehiclePsids: psids(req.VehiclePsids), RoadsidePsids: psids(req.RoadsidePsids),
		CertsPerPeriod: req.CertsPerPeriod, Period: period, MaxPeriods: req.MaxPeriods, RetainPeriods: req.RetainPeriods,
		RemoteLA1: remoteLA(req.RemoteLA1), RemoteLA2: remoteLA(req.RemoteLA2),
	})
	if err != nil {
		return nil, err
	}
	c.status = http.StatusCreated
	return deploymentOf(d)
}

func (s *Server) listV2X(c *call) (any, error) {
	return s.v2x.List(c.ctx)
}

func (s *Server) getV2X(c *call) (any, error) {
	d, err := s.v2x.Get(c.ctx, c.object)
	if err != nil {
		return nil, err
	}
	return deploymentOf(d)
}

// migrateV2X re-signs a deployment of an earlier version under GB/T
// 45112-2024's SM2 signing input.
func (s *Server) migrateV2X(c *call) (any, error) {
	d, err := s.v2x.Migrate(c.ctx, c.object)
	if err != nil {
		return nil, err
	}
	return deploymentOf(d)
}

// v2xAs loads the deployment named by the path, refusing unless the
// caller's tenant holds role in it.
func (s *Server) v2xAs(c *call, role string) (scms.Deployment, error) {
	d, err := s.v2x.Get(c.ctx, c.object)
	if err != nil {
		return d, err
	}
	t := d.Tenants
	holder := map[string]string{"root": t.Root, "eca": t.ECA, "ra": t.RA, "ma": t.MA}[role]
	if holder != c.tenant {
		return d, fault.New(fault.DeploymentNotFound, "V2X deployment %q not found", c.object)
	}
	return d, nil
}

func (s *Server) putV2XDevices(c *call) (any, error) {
	if _, err := s.v2xAs(c, "eca"); err != nil {
		return nil, err
	}
	var req sdk.V2XDevices
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	devices := make([]scms.DeviceEntry, len(req.Devices))
	for i, d := range req.Devices {
		devices[i] = scms.DeviceEntry{ID: d.ID, Kind: d.Kind}
	}
	if err := s.v2x.AllowDevices(c.ctx, c.object, devices); err != nil {
		return nil, err
	}
	c.status = http.StatusNoContent
	return nil, nil
}

func (s *Server) getV2XDevice(c *call) (any, error) {
	if _, err := s.v2xAs(c, "eca"); err != nil {
		return nil, err
	}
	e, err := s.v2x.Device(c.ctx, c.object, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return sdk.V2XDevice{ID: e.ID, Kind: e.Kind, Added: e.Added, Enrolled: e.Enrolled, Blocked: e.Blocked}, nil
}

func (s *Server) flushV2X(c *call) (any, error) {
	if _, err := s.v2xAs(c, "ra"); err != nil {
		return nil, err
	}
	n, err := s.v2x.Flush(c.ctx, c.object)
	return sdk.V2XFlush{Issued: n}, err
}

func (s *Server) reportV2X(c *call) (any, error) {
	if _, err := s.v2xAs(c, "ma"); err != nil {
		return nil, err
	}
	var req sdk.V2XReport
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	r, err := s.v2x.Report(c.ctx, c.object, req.Certificate)
	if err != nil {
		return nil, err
	}
	return sdk.V2XRevocation{Certificate: r.Certificate, Kind: r.Kind, IRev: r.IRev, Enrolment: r.Enrolment, Reported: r.Reported}, nil
}

func (s *Server) issueV2XCRLs(c *call) (any, error) {
	if _, err := s.v2xAs(c, "root"); err != nil {
		return nil, err
	}
	crls, err := s.v2x.IssueCRLs(c.ctx, c.object)
	return sdk.V2XCRLs{Issued: len(crls)}, err
}

// v2xCOER answers a device's COER message with the authority's.
func (s *Server) v2xCOER(handle func(c *call, spdu []byte) ([]byte, error)) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var in []byte
		if c.r.Method == http.MethodPost {
			b, err := io.ReadAll(c.r.Body)
			if err != nil {
				return nil, decodeError(err)
			}
			in = b
		}
		out, err := handle(c, in)
		if err != nil {
			return nil, err
		}
		return raw{contentType: "application/octet-stream", body: out}, nil
	}
}

func (s *Server) v2xEnrol(c *call, spdu []byte) ([]byte, error) {
	return s.v2x.Enrol(c.ctx, c.object, spdu)
}

func (s *Server) v2xRequest(c *call, spdu []byte) ([]byte, error) {
	ack, err := s.v2x.Request(c.ctx, c.object, spdu)
	return ack.SPDU, err
}

func (s *Server) v2xDownload(c *call, spdu []byte) ([]byte, error) {
	return s.v2x.Download(c.ctx, c.object, spdu)
}

func (s *Server) v2xTrustList(c *call, _ []byte) ([]byte, error) {
	return s.v2x.TrustList(c.ctx, c.object)
}

func (s *Server) v2xCRL(c *call, _ []byte) ([]byte, error) {
	return s.v2x.CompositeCRL(c.ctx, c.object)
}

func deploymentOf(d scms.Deployment) (sdk.V2XDeployment, error) {
	pin, err := d.RootPin()
	if err != nil {
		return sdk.V2XDeployment{}, fault.Wrap(err, fault.Internal, "reading the root certificate")
	}
	t := d.Tenants
	out := sdk.V2XDeployment{
		Name: d.Name, Profile: d.Profile, Created: d.Created, Period: d.Period.String(),
		Tenants:        sdk.V2XTenants{Root: t.Root, ECA: t.ECA, RA: t.RA, LA1: t.LA1, LA2: t.LA2, PCA: t.PCA, MA: t.MA},
		CertsPerPeriod: d.CertsPerPeriod, MaxPeriods: d.MaxPeriods, RetainPeriods: d.RetainPeriods, RootPin: hex.EncodeToString(pin[:]),
		SigningInput: d.SigningInput,
		Certificates: map[string][]byte{"root": d.Root, "ica": d.ICA, "crl": d.CRL, "eca": d.ECA, "ra": d.RA, "pca": d.PCA},
	}
	out.RemoteLA1, out.RemoteLA2 = remoteLAShown(d.RemoteLA1), remoteLAShown(d.RemoteLA2)
	for _, p := range d.VehiclePsids {
		out.VehiclePsids = append(out.VehiclePsids, uint64(p))
	}
	for _, p := range d.RoadsidePsids {
		out.RoadsidePsids = append(out.RoadsidePsids, uint64(p))
	}
	return out, nil
}

func remoteLA(r *sdk.V2XRemoteLA) *scms.RemoteLA {
	if r == nil {
		return nil
	}
	return &scms.RemoteLA{URL: r.URL, Name: r.Name, Token: r.Token, CACert: []byte(r.CACert)}
}

// remoteLAShown describes a remote LA without its token.
func remoteLAShown(r *scms.RemoteLA) *sdk.V2XRemoteLA {
	if r == nil {
		return nil
	}
	return &sdk.V2XRemoteLA{URL: r.URL, Name: r.Name, CACert: string(r.CACert)}
}

func psids(in []uint64) []ieee1609.Psid {
	var out []ieee1609.Psid
	for _, p := range in {
		out = append(out, ieee1609.Psid(p))
	}
	return out
}

// regionOf converts a deployment's region.
func regionOf(r *sdk.V2XRegion) (*ieee1609.GeographicRegion, error) {
	switch {
	case r == nil:
		return nil, nil
	case r.Circle != nil && len(r.Countries) > 0:
		return nil, fault.New(fault.InvalidArgument, "a region is countries or a circle, not both")
	case r.Circle != nil:
		c := r.Circle
		if math.Abs(c.Latitude) > 90 || math.Abs(c.Longitude) > 180 || c.Radius == 0 {
			return nil, fault.New(fault.InvalidArgument, "the circle needs a latitude in [-90, 90], a longitude in [-180, 180] and a radius")
		}
		return &ieee1609.GeographicRegion{CircularRegion: &ieee1609.CircularRegion{
			Center: ieee1609.TwoDLocation{Latitude: int32(math.Round(c.Latitude * 1e7)), Longitude: int32(math.Round(c.Longitude * 1e7))},
			Radius: c.Radius,
		}}, nil
	case len(r.Countries) > 0:
		var ids []ieee1609.IdentifiedRegion
		for _, cc := range r.Countries {
			ids = append(ids, ieee1609.IdentifiedRegion{CountryOnly: &cc})
		}
		return &ieee1609.GeographicRegion{IdentifiedRegion: ids}, nil
	}
	return nil, fault.New(fault.InvalidArgument, "an empty region")
}
