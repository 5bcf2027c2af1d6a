package scms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/paths"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
)

// CRL series of the certificates a deployment issues.
const (
	SeriesPseudonym  = 1 // linkage-based CRL of pseudonym certificates
	SeriesEnrolment  = 2 // hash-based CRL of enrolment certificates
	SeriesRoadside   = 3 // hash-based CRL of roadside unit certificates
	PsidBSM          = 32
	PsidMisbehaviour = 38
)

// Tenants places the authorities. RA, LA1, LA2, PCA and MA must be five
// different tenants; the root CA, intermediate CA, CRL signer and trust
// list live in Root; ECA may share a tenant with any of them. LA1 and LA2
// are empty when the LA is at another cluster (RemoteLA).
type Tenants struct {
	Root string `json:"root"`
	ECA  string `json:"eca"`
	RA   string `json:"ra"`
	LA1  string `json:"la1"`
	LA2  string `json:"la2"`
	PCA  string `json:"pca"`
	MA   string `json:"ma"`
}

// DeploymentRequest creates a deployment.
type DeploymentRequest struct {
	Name    string
	Tenants Tenants
	// Region, when set, restricts every certificate (e.g. China: an
	// identified region with country 156).
	Region *ieee1609.GeographicRegion
	// VehiclePsids are what pseudonym certificates may sign (default:
	// BSM, 32); RoadsidePsids what roadside unit certificates may sign
	// (default: the vehicle PSIDs).
	VehiclePsids  []ieee1609.Psid
	RoadsidePsids []ieee1609.Psid
	// CertsPerPeriod (default 20) pseudonym certificates per i-period of
	// Period (default one week).
	CertsPerPeriod int
	Period         time.Duration
	// MaxPeriods bounds the periods one request may ask for (default 4).
	MaxPeriods int
	// RetainPeriods is how many i-periods after a certificate expires the
	// authorities keep what lets the MA trace it (default 13, a quarter
	// of weekly periods); then Tidy deletes it.
	RetainPeriods int
	// RemoteLA1 and RemoteLA2, when set, place an LA at another mima
	// cluster instead of in a tenant here.
	RemoteLA1, RemoteLA2 *RemoteLA
}

// RemoteLA is an LA at another mima cluster: the address of its API, the
// name of the standalone LA there (CreateLA), the token of the tenant that
// holds it, and the CA certificates (PEM) its TLS certificate chains to
// when they are not the system's.
type RemoteLA struct {
	URL    string `json:"url"`
	Name   string `json:"name"`
	Token  string `json:"token"`
	CACert []byte `json:"ca_cert,omitempty"`
}

// Deployment describes a deployment.
type Deployment struct {
	Name           string          `json:"name"`
	Tenants        Tenants         `json:"tenants"`
	Profile        string          `json:"profile"`
	Created        time.Time       `json:"created"`
	Period         time.Duration   `json:"period"`
	CertsPerPeriod int             `json:"certs_per_period"`
	MaxPeriods     int             `json:"max_periods"`
	RetainPeriods  int             `json:"retain_periods"`
	RemoteLA1      *RemoteLA       `json:"remote_la1,omitempty"`
	RemoteLA2      *RemoteLA       `json:"remote_la2,omitempty"`
	VehiclePsids   []ieee1609.Psid `json:"vehicle_psids"`
	RoadsidePsids  []ieee1609.Psid `json:"roadside_psids"`
	LA1ID          linkage.LaID    `json:"la1_id"`
	LA2ID          linkage.LaID    `json:"la2_id"`
	// Certificates of the authorities (COER).
	Root []byte `json:"root"`
	ICA  []byte `json:"ica"`
	ECA  []byte `json:"eca"`
	RA   []byte `json:"ra"`
	PCA  []byte `json:"pca"`
	CRL  []byte `json:"crl"`
	// Region is the deployment's region (COER), if any.
	Region []byte `json:"region,omitempty"`
	// SigningInput names the SM2 signing input of the authorities'
	// signatures: SigningInputGBT45112. Deployments of earlier versions
	// have none: they signed under another input and must be migrated.
	SigningInput string `json:"signing_input,omitempty"`
}

// SigningInputGBT45112 is the SM2 signing input of GB/T 45112-2024 that
// sec.CN computes (e = SM3(Z_A || tbs), ID_A = SM3(signer certificate)).
const SigningInputGBT45112 = "gbt45112-2024"

// certs are the authority certificate fields of d by role.
func (d *Deployment) certs() map[string]*[]byte {
	return map[string]*[]byte{"root": &d.Root, "ica": &d.ICA, "crl": &d.CRL, "eca": &d.ECA, "ra": &d.RA, "pca": &d.PCA}
}

// deployment is a loaded deployment with decoded certificates.
type deployment struct {
	Deployment
	root, ica, eca, ra, pca, crl *ieee1609.Certificate
	region                       *ieee1609.GeographicRegion
	trust                        *trust.Store
	las                          [2]LinkageAuthority
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// path is the storage path of a record of role in its tenant.
func (d *deployment) path(tenant, role, rest string) string {
	return "t/" + tenant + "/v2x/" + d.Name + "/" + role + "/" + rest
}

// keyName is the key service name of an authority key.
func keyName(dep, role, purpose string) string { return "v2x-" + dep + "-" + role + "-" + purpose }

// CreateDeployment creates the authorities of a deployment: their keys in
// their tenants and their certificates, root to leaves.
func (s *Service) CreateDeployment(ctx context.Context, req DeploymentRequest) (Deployment, error) {
	if err := req.check(s.remote != nil); err != nil {
		return Deployment{}, err
	}
	st, err := s.store.Backend()
	if err != nil {
		return Deployment{}, err
	}
	// Checked here to fail early, claimed by the final write's condition:
	// no lock across the authorities' key creations and signatures.
	if _, err := st.Get(ctx, paths.Deployment{Name: req.Name}.String()); err == nil {
		return Deployment{}, fault.New(fault.AlreadyExists, "deployment %q exists", req.Name)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Deployment{}, fault.Storage(err)
	}
	now := s.clock()
	d := Deployment{
		Name: req.Name, Tenants: req.Tenants, Profile: s.profile.Name, Created: now,
		Period: req.Period, CertsPerPeriod: req.CertsPerPeriod, MaxPeriods: req.MaxPeriods, RetainPeriods: req.RetainPeriods,
		RemoteLA1: req.RemoteLA1, RemoteLA2: req.RemoteLA2,
		VehiclePsids: req.VehiclePsids, RoadsidePsids: req.RoadsidePsids,
		LA1ID: linkage.LaID{0x00, 0x01}, LA2ID: linkage.LaID{0x00, 0x02},
		SigningInput: SigningInputGBT45112,
	}
	if req.Region != nil {
		if d.Region, err = coer.Marshal(req.Region); err != nil {
			return Deployment{}, fault.Invalid("region: %v", err)
		}
	}
	t := req.Tenants
	b := newBuilder(s, &d, now)
	b.region = req.Region
	for _, a := range s.authorities(&d) {
		if err := b.authority(ctx, a); err != nil {
			return Deployment{}, err
		}
	}
	if err := b.store(); err != nil {
		return Deployment{}, err
	}
	for _, la := range []string{t.LA1, t.LA2} {
		if la == "" {
			continue // at another cluster
		}
		if _, err := s.ensureKey(ctx, la, keyName(d.Name, "la", "lci"), device.SM4); err != nil {
			return Deployment{}, err
		}
	}
	rec, err := json.Marshal(d)
	if err != nil {
		return Deployment{}, fault.Unexpected(err)
	}
	err = st.Swap(ctx, []storage.Cond{{Key: paths.Deployment{Name: d.Name}.String(), Absent: true}}, []storage.Op{{Key: paths.Deployment{Name: d.Name}.String(), Value: rec}})
	if errors.Is(err, storage.ErrConflict) {
		return Deployment{}, fault.New(fault.AlreadyExists, "deployment %q exists", req.Name)
	}
	if err != nil {
		return Deployment{}, fault.Storage(err)
	}
	return d, nil
}

func explicit(psids []ieee1609.Psid) []ieee1609.PsidGroupPermissions {
	var r []ieee1609.PsidSspRange
	for _, p := range psids {
		r = append(r, ieee1609.PsidSspRange{Psid: p})
	}
	return []ieee1609.PsidGroupPermissions{{SubjectPermissions: ieee1609.SubjectPermissions{Explicit: r}}}
}

func (req *DeploymentRequest) check(canDial bool) error {
	if !namePattern.MatchString(req.Name) {
		return fault.Invalid("deployment name %q: use 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit", req.Name)
	}
	t := req.Tenants
	for role, tn := range map[string]string{"root": t.Root, "eca": t.ECA, "ra": t.RA, "pca": t.PCA, "ma": t.MA} {
		if tn == "" {
			return fault.Invalid("the %s tenant is required", role)
		}
	}
	for n, la := range []struct {
		tenant string
		remote *RemoteLA
	}{{t.LA1, req.RemoteLA1}, {t.LA2, req.RemoteLA2}} {
		switch r := la.remote; {
		case r == nil && la.tenant == "":
			return fault.Invalid("LA%d needs a tenant or a remote LA", n+1)
		case r != nil && la.tenant != "":
			return fault.Invalid("LA%d is either in a tenant or remote, not both", n+1)
		case r != nil && !canDial:
			return fault.Invalid("this server cannot reach remote LAs")
		case r != nil && (r.URL == "" || r.Token == "" || !namePattern.MatchString(r.Name)):
			return fault.Invalid("remote LA%d needs a URL, a token and the LA's name there", n+1)
		}
	}
	separate := map[string]string{}
	for _, r := range []struct{ role, tenant string }{{"RA", t.RA}, {"LA1", t.LA1}, {"LA2", t.LA2}, {"PCA", t.PCA}, {"MA", t.MA}} {
		if r.tenant == "" {
			continue // a remote LA
		}
		if other, ok := separate[r.tenant]; ok {
			return fault.New(fault.RoleConflict, "%s and %s would share tenant %q: one operator could then link a vehicle's certificates", other, r.role, r.tenant)
		}
		separate[r.tenant] = r.role
	}
	if len(req.VehiclePsids) == 0 {
		req.VehiclePsids = []ieee1609.Psid{PsidBSM}
	}
	if len(req.RoadsidePsids) == 0 {
		req.RoadsidePsids = req.VehiclePsids
	}
	if req.CertsPerPeriod == 0 {
		req.CertsPerPeriod = 20
	}
	if req.Period == 0 {
		req.Period = 7 * 24 * time.Hour
	}
	if req.MaxPeriods == 0 {
		req.MaxPeriods = 4
	}
	if req.RetainPeriods == 0 {
		req.RetainPeriods = 13
	}
	switch {
	case req.CertsPerPeriod < 1 || req.CertsPerPeriod > 255:
		return fault.Invalid("certs per period must be 1 to 255")
	case req.Period < 24*time.Hour || req.Period%time.Second != 0:
		// i counts periods since 2004 in 16 bits: with days, until 2183.
		return fault.Invalid("the i-period must be at least a day, in whole seconds")
	case req.MaxPeriods < 1 || req.MaxPeriods > 52:
		return fault.Invalid("max periods must be 1 to 52")
	case req.RetainPeriods < 1 || req.RetainPeriods > 520:
		return fault.Invalid("retain periods must be 1 to 520")
	}
	return nil
}

// authorities are the authority certificates of d, root to leaves.
func (s *Service) authorities(d *Deployment) []authoritySpec {
	all := []ieee1609.PsidGroupPermissions{{SubjectPermissions: ieee1609.SubjectPermissions{All: &coer.Null{}}}}
	mgmt := []ieee1609.Psid{s.profile.SecurityMgmtPsid}
	enrolable := append(append(slices.Clone(mgmt), d.VehiclePsids...), d.RoadsidePsids...)
	return []authoritySpec{
		{role: "root", years: 20, issue: all, app: mgmt},
		{role: "ica", issuer: "root", years: 15, issue: all},
		{role: "crl", issuer: "ica", years: 10, app: []ieee1609.Psid{s.profile.CrlPsid}},
		{role: "eca", issuer: "ica", years: 10, issue: explicit(enrolable), app: mgmt},
		{role: "ra", issuer: "ica", years: 10, app: mgmt, enc: true},
		{role: "pca", issuer: "ica", years: 10, issue: explicit(enrolable[1:]), app: mgmt, enc: true},
	}
}

// builder creates authority keys and certificates.
type builder struct {
	s       *Service
	dep     *Deployment
	region  *ieee1609.GeographicRegion
	now     time.Time
	certs   map[string]*ieee1609.Certificate // by role
	tenants map[string]string                // by role
}

// newBuilder is a builder of d's authorities at now.
func newBuilder(s *Service, d *Deployment, now time.Time) *builder {
	t := d.Tenants
	return &builder{s: s, dep: d, now: now, certs: map[string]*ieee1609.Certificate{},
		tenants: map[string]string{"root": t.Root, "ica": t.Root, "crl": t.Root, "eca": t.ECA, "ra": t.RA, "pca": t.PCA}}
}

// store writes the certificates made into the deployment.
func (b *builder) store() error {
	for role, out := range b.dep.certs() {
		var err error
		if *out, err = coer.Marshal(b.certs[role]); err != nil {
			return fault.Unexpected(err)
		}
	}
	return nil
}

// start is when authority certificates begin: with the current i-period,
// so that its pseudonym certificates lie within them.
func (b *builder) start() ieee1609.Time32 {
	p := ieee1609.Time32(b.dep.Period / time.Second)
	return ieee1609.Time32Of(b.now) / p * p
}

// authoritySpec is one authority certificate to make.
type authoritySpec struct {
	role, issuer string // issuer "" for the self-signed root
	years        uint16
	issue        []ieee1609.PsidGroupPermissions
	app          []ieee1609.Psid
	enc          bool // also an encryption key
}

// authority creates the role's signing key (and encryption key) in its
// tenant and its certificate, issued by the issuer role's key.
func (b *builder) authority(ctx context.Context, a authoritySpec) error {
	s, tenant := b.s, b.tenants[a.role]
	signKey, err := s.ensureKey(ctx, tenant, keyName(b.dep.Name, a.role, "sign"), device.SM2)
	if err != nil {
		return err
	}
	name := b.dep.Name + " " + a.role
	vk := s.profile.VerificationKey(signKey.Public().(*ecdsa.PublicKey))
	years := a.years
	tbs := ieee1609.ToBeSignedCertificate{
		ID:                   ieee1609.CertificateID{Name: &name},
		ValidityPeriod:       ieee1609.ValidityPeriod{Start: b.start(), Duration: ieee1609.Duration{Years: &years}},
		Region:               b.region,
		CertIssuePermissions: a.issue,
		VerifyKeyIndicator:   ieee1609.VerificationKeyIndicator{VerificationKey: &vk},
	}
	for _, p := range a.app {
		tbs.AppPermissions = append(tbs.AppPermissions, ieee1609.PsidSsp{Psid: p})
	}
	if a.enc {
		encKey, err := s.ensureKey(ctx, tenant, keyName(b.dep.Name, a.role, "enc"), device.SM2)
		if err != nil {
			return err
		}
		ek := s.profile.EncryptionKey(encKey.Public().(*ecdsa.PublicKey))
		tbs.EncryptionKey = &ek
	}
	return b.issue(ctx, a, tbs)
}

// issue signs the role's certificate of tbs with the issuer role's key
// (its own for the root), under the issuer's certificate made before.
func (b *builder) issue(ctx context.Context, a authoritySpec, tbs ieee1609.ToBeSignedCertificate) error {
	signer := a.role
	issuer := b.certs[a.issuer]
	if issuer != nil {
		signer = a.issuer
		// A certificate cannot outlive its issuer.
		if end := issuer.ToBeSigned.ValidityPeriod.End(); tbs.ValidityPeriod.End().After(end) {
			tbs.ValidityPeriod.Duration = ieee1609.Hours(uint16(min(end.Sub(b.now)/time.Hour, 65535)))
		}
	}
	key, err := b.s.keys.Signer(ctx, b.tenants[signer], keyName(b.dep.Name, signer, "sign"))
	if err != nil {
		return err
	}
	c, err := b.s.profile.Issue(b.s.rand, tbs, issuer, key)
	if err != nil {
		return fault.Unexpected(err)
	}
	b.certs[a.role] = c
	return nil
}

// ensureKey creates an authority key in tenant, or returns the signer of
// the existing one; with an sm4 key it returns nil.
func (s *Service) ensureKey(ctx context.Context, tenant, name string, typ device.KeyType) (crypto.Signer, error) {
	_, err := s.keys.Create(ctx, tenant, kms.CreateRequest{Name: name, Type: typ, Description: "V2X SCMS authority key"})
	if err != nil && !fault.Is(err, fault.AlreadyExists) {
		return nil, err
	}
	if typ != device.SM2 {
		return nil, nil
	}
	return s.keys.Signer(ctx, tenant, name)
}

// load returns a deployment, from the cache or the store.
func (s *Service) load(ctx context.Context, name string) (*deployment, error) {
	k := paths.Deployment{Name: name}
	if d, ok := s.deps.Get(k); ok {
		return d, nil
	}
	gen := s.deps.Generation()
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	b, err := st.Get(ctx, paths.Deployment{Name: name}.String())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fault.New(fault.DeploymentNotFound, "V2X deployment %q not found", name)
	}
	if err != nil {
		return nil, fault.Storage(err)
	}
	d := &deployment{}
	if err := json.Unmarshal(b, &d.Deployment); err != nil {
		return nil, fault.Unexpected(err)
	}
	if d.SigningInput != SigningInputGBT45112 {
		return nil, fault.New(fault.MigrationRequired, "V2X deployment %q was signed by an earlier mima under an SM2 signing input other than GB/T 45112-2024's; run `mima v2x migrate %s`", name, name)
	}
	for _, c := range []struct {
		der []byte
		out **ieee1609.Certificate
	}{{d.Root, &d.root}, {d.ICA, &d.ica}, {d.ECA, &d.eca}, {d.RA, &d.ra}, {d.PCA, &d.pca}, {d.CRL, &d.crl}} {
		*c.out = new(ieee1609.Certificate)
		if err := coer.Unmarshal(c.der, *c.out); err != nil {
			return nil, fault.Unexpected(fmt.Errorf("deployment %s: %w", name, err))
		}
	}
	if len(d.Region) > 0 {
		d.region = new(ieee1609.GeographicRegion)
		if err := coer.Unmarshal(d.Region, d.region); err != nil {
			return nil, fault.Unexpected(err)
		}
	}
	for n, remote := range []*RemoteLA{d.RemoteLA1, d.RemoteLA2} {
		if remote == nil {
			d.las[n] = s.localLA(d, n+1)
		} else if s.remote == nil {
			return nil, fault.New(fault.LAUnavailable, "deployment %s has a remote LA, which this server cannot reach", name)
		} else if d.las[n], err = s.remote(*remote); err != nil {
			return nil, fault.Unexpected(fmt.Errorf("deployment %s, LA%d: %w", name, n+1, err))
		}
	}
	d.trust = trust.New(s.profile)
	if err := d.trust.AddRoot(d.root); err != nil {
		return nil, fault.Unexpected(err)
	}
	for _, c := range []*ieee1609.Certificate{d.ica, d.crl, d.eca, d.ra, d.pca} {
		if err := d.trust.AddCertificate(c, s.now()); err != nil {
			return nil, fault.Unexpected(fmt.Errorf("deployment %s: %w", name, err))
		}
	}
	s.deps.Add(k, d, gen)
	return d, nil
}

// Get describes a deployment.
func (s *Service) Get(ctx context.Context, name string) (Deployment, error) {
	d, err := s.load(ctx, name)
	if err != nil {
		return Deployment{}, err
	}
	return d.Deployment, nil
}

// List names the deployments.
func (s *Service) List(ctx context.Context) ([]string, error) {
	st, err := s.store.Backend()
	if err != nil {
		return nil, err
	}
	keys, err := st.List(ctx, paths.Deployments, "", 0)
	if err != nil {
		return nil, fault.Storage(err)
	}
	for i, k := range keys {
		keys[i] = k[len(paths.Deployments):]
	}
	return keys, nil
}

// RootPin is the HashedId8 of the deployment's root certificate, which
// devices pin.
func (d Deployment) RootPin() (ieee1609.HashedId8, error) {
	var root ieee1609.Certificate
	if err := coer.Unmarshal(d.Root, &root); err != nil {
		return ieee1609.HashedId8{}, err
	}
	return sec.HashedID8(&root)
}
