package scms

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/linkage"
)

// A standalone LA serves a deployment of another mima cluster, whose
// operator then holds neither this LA's seeds nor its key. It is created
// in a tenant here with the id the deployment gives it and the
// certificate of the deployment's PCA, to which alone it encrypts
// pre-linkage values (the RA cannot choose another); the deployment's RA
// and MA call it through the API with a token of that tenant. Its chains
// live under t/<tenant>/v2x-la/<name>/chains/<p>/, deleted RetainPeriods
// after they end.

// LAConfig describes a standalone LA.
type LAConfig struct {
	Name string       `json:"name"`
	ID   linkage.LaID `json:"id"`
	// PCA is the certificate (COER) of the deployment's PCA.
	PCA []byte `json:"pca"`
	// Period and RetainPeriods are the deployment's (defaults one week
	// and 13).
	Period        time.Duration `json:"period"`
	RetainPeriods int           `json:"retain_periods"`
	Created       time.Time     `json:"created"`
}

func laPath(tenant, name string) string { return "t/" + tenant + "/v2x-la/" + name + "/" }

// laIndexPath lists the standalone LAs of every tenant, for Tidy.
func laIndexPath(tenant, name string) string { return "v2x/las/" + tenant + "/" + name }

// CreateLA creates a standalone LA in tenant, with its SM4 key.
func (s *Service) CreateLA(ctx context.Context, tenant string, c LAConfig) (LAConfig, error) {
	if !namePattern.MatchString(c.Name) {
		return LAConfig{}, fault.Invalid("LA name %q: use 1 to 63 of a-z, 0-9 and '-', starting with a letter or digit", c.Name)
	}
	var pca ieee1609.Certificate
	if err := coer.Unmarshal(c.PCA, &pca); err != nil || pca.ToBeSigned.EncryptionKey == nil {
		return LAConfig{}, fault.Invalid("the PCA certificate must be a COER certificate with an encryption key")
	}
	if c.Period == 0 {
		c.Period = 7 * 24 * time.Hour
	}
	if c.RetainPeriods == 0 {
		c.RetainPeriods = 13
	}
	if c.Period < 24*time.Hour || c.Period%time.Second != 0 || c.RetainPeriods < 1 || c.RetainPeriods > 520 {
		return LAConfig{}, fault.Invalid("the i-period must be at least a day in whole seconds, and retain periods 1 to 520")
	}
	st, err := s.store.Backend()
	if err != nil {
		return LAConfig{}, err
	}
	// Checked here to fail early, claimed by the final write's condition.
	var old LAConfig
	if found, err := getJSON(ctx, st, laPath(tenant, c.Name)+"config", &old); err != nil {
		return LAConfig{}, err
	} else if found {
		return LAConfig{}, fault.New(fault.AlreadyExists, "LA %q exists", c.Name)
	}
	if _, err := s.ensureKey(ctx, tenant, laKeyName(c.Name), device.SM4); err != nil {
		return LAConfig{}, err
	}
	c.Created = s.clock()
	op, err := putOp(laPath(tenant, c.Name)+"config", c)
	if err != nil {
		return LAConfig{}, err
	}
	err = st.Swap(ctx, []storage.Cond{{Key: op.Key, Absent: true}}, []storage.Op{op, {Key: laIndexPath(tenant, c.Name), Value: []byte{}}})
	if errors.Is(err, storage.ErrConflict) {
		return LAConfig{}, fault.New(fault.AlreadyExists, "LA %q exists", c.Name)
	}
	if err != nil {
		return LAConfig{}, fault.Storage(err)
	}
	return c, nil
}

func laKeyName(name string) string { return "v2x-la-" + name + "-lci" }

// GetLA describes a standalone LA of tenant.
func (s *Service) GetLA(ctx context.Context, tenant, name string) (LAConfig, error) {
	st, err := s.store.Backend()
	if err != nil {
		return LAConfig{}, err
	}
	var c LAConfig
	found, err := getJSON(ctx, st, laPath(tenant, name)+"config", &c)
	if err == nil && !found {
		err = fault.New(fault.NotFound, "V2X LA %q not found", name)
	}
	return c, err
}

// StandaloneLA is tenant's LA name, to answer a remote RA and MA; it
// refuses requests that do not fit its clock or bounds.
func (s *Service) StandaloneLA(ctx context.Context, tenant, name string) (LinkageAuthority, error) {
	c, err := s.GetLA(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	pca := new(ieee1609.Certificate)
	if err := coer.Unmarshal(c.PCA, pca); err != nil {
		return nil, fault.Unexpected(err)
	}
	return &standaloneLA{tenantLA: tenantLA{s: s, tenant: tenant, id: c.ID, key: laKeyName(name),
		aad: []byte("v2x-la/" + name), chains: laPath(tenant, name) + "chains/", pca: pca}, config: c}, nil
}

// standaloneLA checks what a remote RA or MA asks before answering.
type standaloneLA struct {
	tenantLA
	config LAConfig
}

// now is the LA's current i-period.
func (la *standaloneLA) now() uint16 { return periodOf(la.s.now(), la.config.Period) }

// current refuses a period more than one away from the LA's.
func (la *standaloneLA) current(name string, i uint16) error {
	if now := la.now(); int(i) < int(now)-1 || int(i) > int(now)+1 {
		return fault.Invalid("%s is period %d; this LA is at %d", name, i, now)
	}
	return nil
}

// PreLinkage answers for a request made now, for at most 52 periods
// starting within 52, and j < 256.
func (la *standaloneLA) PreLinkage(ctx context.Context, r PLVRequest) (*PLVResponse, error) {
	if err := la.current("now", r.Now); err != nil {
		return nil, err
	}
	if r.Periods < 1 || r.Periods > 52 || r.JMax < 1 || r.JMax > 255 || r.First < r.Now || r.First-r.Now > 52 {
		return nil, fault.Invalid("asks for %d periods from %d, j < %d: at most 52 periods starting within 52, j < 256", r.Periods, r.First, r.JMax)
	}
	return la.tenantLA.PreLinkage(ctx, r)
}

// LinkageSeed answers for the current period.
func (la *standaloneLA) LinkageSeed(ctx context.Context, r SeedRequest) (*SeedResponse, error) {
	if err := la.current("i_rev", r.IRev); err != nil {
		return nil, err
	}
	return la.tenantLA.LinkageSeed(ctx, r)
}

// tidyLAs deletes the chains of every standalone LA that ended
// RetainPeriods ago.
func (s *Service) tidyLAs(ctx context.Context) error {
	st, err := s.store.Backend()
	if err != nil {
		return err
	}
	keys, err := st.List(ctx, "v2x/las/", "", 0)
	if err != nil {
		return fault.Storage(err)
	}
	var errs []error
	for _, k := range keys {
		tenant, name, _ := strings.Cut(strings.TrimPrefix(k, "v2x/las/"), "/")
		la, err := s.StandaloneLA(ctx, tenant, name)
		if err == nil {
			_, err = la.(*standaloneLA).tidy(ctx, st)
		}
		if err != nil && !fault.Is(err, fault.NotFound) {
			errs = append(errs, fmt.Errorf("LA %s of tenant %s: %w", name, tenant, err))
		}
	}
	return errors.Join(errs...)
}

// tidy deletes the LA's chains that ended RetainPeriods ago.
func (la *standaloneLA) tidy(ctx context.Context, st storage.Backend) (int, error) {
	created, now, retain := periodOf(la.config.Created, la.config.Period), la.now(), uint16(la.config.RetainPeriods)
	return tidyOnce(ctx, st, "v2x/tidied-la/"+la.tenant+"/"+la.config.Name, created, now, func(t *tidier, from uint16) {
		for p := max(created+retain, from); p < now; p++ {
			t.deleteUnder(ctx, la.chains+bucket(p-retain)+"/")
		}
	})
}
