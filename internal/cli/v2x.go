package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ee"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
	"github.com/mimacrypto/mima/internal/v2x/sec"
	"github.com/mimacrypto/mima/internal/v2x/trust"
	"github.com/mimacrypto/mima/sdk"
)

func (e *env) v2xCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "v2x", Short: "V2X security credentials (SCMS): deployments, and what a vehicle or roadside unit does"}
	cmd.AddCommand(
		e.v2xCreateCommand(), e.v2xListCommand(), e.v2xShowCommand(), e.v2xMigrateCommand(), e.v2xAllowCommand(), e.v2xDeviceCommand(), e.v2xFlushCommand(),
		e.v2xReportCommand(), e.v2xIssueCRLsCommand(),
		e.v2xEnrollCommand(), e.v2xRequestCommand(), e.v2xDownloadCommand(), e.v2xSignCommand(),
		e.v2xVerifyCommand(), e.v2xCheckRevokedCommand(), e.v2xLACommand(),
	)
	return cmd
}

func (e *env) v2xCreateCommand() *cobra.Command {
	var req sdk.V2XDeploymentRequest
	var countries, vehicle, roadside []uint
	var circle string
	var remote [2]remoteLAFlags
	cmd := &cobra.Command{
		Use:   "create NAME --root T --eca T --ra T --la1 T --la2 T --pca T --ma T",
		Short: "Create a deployment's authorities in existing tenants (root token); prints the root pin devices need",
		Long: `Create a deployment's authorities in existing tenants (root token); prints the root pin devices need.

An LA may be at another mima cluster instead (--la1-url etc. in place of --la1), so that this
cluster's operator does not hold both LAs and the PCA: there, in a tenant of its own, the LA's
operator runs "mima v2x la create" with the deployment's PCA certificate before the first
pseudonym request.`,
		Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			req.Name = args[0]
			var err error
			if req.RemoteLA1, err = remote[0].read(req.Name + "-la1"); err != nil {
				return err
			}
			if req.RemoteLA2, err = remote[1].read(req.Name + "-la2"); err != nil {
				return err
			}
			for _, p := range vehicle {
				req.VehiclePsids = append(req.VehiclePsids, uint64(p))
			}
			for _, p := range roadside {
				req.RoadsidePsids = append(req.RoadsidePsids, uint64(p))
			}
			if len(countries) > 0 || circle != "" {
				req.Region = &sdk.V2XRegion{}
				for _, cc := range countries {
					req.Region.Countries = append(req.Region.Countries, uint16(cc))
				}
				if circle != "" {
					var c sdk.V2XCircle
					if _, err := fmt.Sscanf(circle, "%g,%g,%d", &c.Latitude, &c.Longitude, &c.Radius); err != nil {
						return fmt.Errorf("--circle is LAT,LON,RADIUS_METRES: %w", err)
					}
					req.Region.Circle = &c
				}
			}
			d, err := c.V2X().CreateDeployment(ctx, req)
			if err != nil {
				return err
			}
			return e.printDeployment(d)
		}),
	}
	fl := cmd.Flags()
	for _, f := range []struct {
		p    *string
		name string
	}{{&req.Tenants.Root, "root"}, {&req.Tenants.ECA, "eca"}, {&req.Tenants.RA, "ra"}, {&req.Tenants.LA1, "la1"}, {&req.Tenants.LA2, "la2"}, {&req.Tenants.PCA, "pca"}, {&req.Tenants.MA, "ma"}} {
		fl.StringVar(f.p, f.name, "", "tenant of the "+strings.ToUpper(f.name)+" (root: root CA, intermediate CA and CRL signer)")
		if !strings.HasPrefix(f.name, "la") {
			_ = cmd.MarkFlagRequired(f.name)
		}
	}
	for n := range remote {
		remote[n].register(fl, "la"+strconv.Itoa(n+1))
	}
	fl.UintSliceVar(&countries, "country", nil, "restrict certificates to these countries (UN M.49, e.g. 156)")
	fl.StringVar(&circle, "circle", "", "restrict certificates to a circle LAT,LON,RADIUS_METRES")
	fl.UintSliceVar(&vehicle, "vehicle-psid", nil, "PSIDs pseudonym certificates may sign (default 32, BSM)")
	fl.UintSliceVar(&roadside, "roadside-psid", nil, "PSIDs roadside unit certificates may sign (default: the vehicle PSIDs)")
	fl.IntVar(&req.CertsPerPeriod, "certs-per-period", 0, "pseudonym certificates per i-period (default 20)")
	fl.StringVar(&req.Period, "period", "", "length of an i-period, at least 24h (default 168h)")
	fl.IntVar(&req.MaxPeriods, "max-periods", 0, "periods one request may cover (default 4)")
	fl.IntVar(&req.RetainPeriods, "retain-periods", 0, "periods after a certificate expires that the MA can still trace it (default 13)")
	return cmd
}

func (e *env) printDeployment(d sdk.V2XDeployment) error {
	return e.print(d, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\nProfile\t%s\nSigning input\t%s\nRoot pin\t%s\nPeriod\t%s × %d certificates\n", d.Name, d.Profile, d.SigningInput, d.RootPin, d.Period, d.CertsPerPeriod)
		t := d.Tenants
		la := func(tenant string, r *sdk.V2XRemoteLA) string {
			if r != nil {
				return r.Name + " at " + r.URL
			}
			return tenant
		}
		fmt.Fprintf(w, "Tenants\troot %s, eca %s, ra %s, la1 %s, la2 %s, pca %s, ma %s\n", t.Root, t.ECA, t.RA, la(t.LA1, d.RemoteLA1), la(t.LA2, d.RemoteLA2), t.PCA, t.MA)
	})
}

func (e *env) v2xShowCommand() *cobra.Command {
	return &cobra.Command{
		Use: "show NAME", Short: "Describe a deployment (root token)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			d, err := c.V2X().GetDeployment(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printDeployment(d)
		}),
	}
}

func (e *env) v2xListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List the deployments (root token)", Args: cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			names, err := c.V2X().ListDeployments(ctx)
			if err != nil {
				return err
			}
			return printList(e, names, "", "NAME", func(n string) string { return n })
		}),
	}
}

func (e *env) v2xDeviceCommand() *cobra.Command {
	return &cobra.Command{
		Use: "device NAME DEVICE-ID", Short: "Show a device of the ECA's allow-list: its kind, enrolments and whether it is blocked (ECA's tenant)", Args: cobra.ExactArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			d, err := c.V2X().GetDevice(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			return e.print(d, func(w io.Writer) {
				fmt.Fprintf(w, "ID\t%s\nKind\t%s\nAdded\t%s\nEnrolled\t%v\nBlocked\t%v\n", d.ID, d.Kind, d.Added.Format(timeLayout), d.Enrolled, d.Blocked)
			})
		}),
	}
}

func (e *env) v2xMigrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate NAME",
		Short: "Re-issue the authority certificates, CTL and CRLs of a deployment made by an earlier mima under GB/T 45112-2024's SM2 signing input (root token)",
		Long: `Re-issue the authority certificates, CTL and CRLs of a deployment made by an earlier mima
under GB/T 45112-2024's SM2 signing input (root token); prints the new root pin.

Earlier versions signed over another input, which devices built to the standard refuse, and
this version refuses to load such a deployment (v2x_migration_required). The certificates keep
their bodies and keys. Devices then take the new root pin and enrol again. Standalone LAs at
other clusters keep the former PCA certificate (see docs/v2x.md, "Deployments of earlier
versions"). A deployment already migrated is left as it is.`,
		Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			d, err := c.V2X().Migrate(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printDeployment(d)
		}),
	}
}

func (e *env) v2xAllowCommand() *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use: "allow NAME DEVICE-ID...", Short: "Add devices to the ECA's allow-list (a token of the ECA's tenant)", Args: cobra.MinimumNArgs(2),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			var devices []sdk.V2XDevice
			for _, id := range args[1:] {
				devices = append(devices, sdk.V2XDevice{ID: id, Kind: kind})
			}
			return c.V2X().AllowDevices(ctx, args[0], devices)
		}),
	}
	cmd.Flags().StringVar(&kind, "kind", "vehicle", "vehicle or roadside")
	return cmd
}

func (e *env) v2xFlushCommand() *cobra.Command {
	return &cobra.Command{
		Use: "flush NAME", Short: "Send the RA's queued requests to the PCA now (RA's tenant)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r, err := c.V2X().Flush(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) { fmt.Fprintf(w, "Issued\t%d\n", r.Issued) })
		}),
	}
}

func (e *env) v2xReportCommand() *cobra.Command {
	var f ioFlags
	cmd := &cobra.Command{
		Use: "report NAME --in CERT|SPDU", Short: "Report a misbehaving device's certificate, or the signer of its SPDU (COER), and revoke it (MA's tenant)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			b, err := f.read(e)
			if err != nil {
				return err
			}
			cert, err := certificateOf(b)
			if err != nil {
				return err
			}
			r, err := c.V2X().Report(ctx, args[0], cert)
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) {
				fmt.Fprintf(w, "Certificate\t%s\nKind\t%s\nRevoked from i-period\t%d\nEnrolment revoked\t%s\n", r.Certificate, r.Kind, r.IRev, r.Enrolment)
			})
		}),
	}
	cmd.Flags().StringVar(&f.in, "in", "", "the certificate or SPDU, COER (default: standard input)")
	return cmd
}

// certificateOf is b, a certificate, or the signer certificate of b, a
// signed SPDU.
func certificateOf(b []byte) ([]byte, error) {
	data, err := trust.DecodeData(b)
	if err != nil || data.Content.SignedData == nil || len(data.Content.SignedData.Signer.Certificate) != 1 {
		return b, nil
	}
	return coer.Marshal(&data.Content.SignedData.Signer.Certificate[0])
}

func (e *env) v2xIssueCRLsCommand() *cobra.Command {
	return &cobra.Command{
		Use: "issue-crls NAME", Short: "Sign new CRLs now (root CA's tenant)", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			r, err := c.V2X().IssueCRLs(ctx, args[0])
			if err != nil {
				return err
			}
			return e.print(r, func(w io.Writer) { fmt.Fprintf(w, "Issued\t%d\n", r.Issued) })
		}),
	}
}

// device is the device of a state file, with the transport to its
// deployment.
type device struct {
	e     *env
	path  string
	d     *ee.Device
	trans *sdk.V2XTransport
}

// openDevice loads the state file.
func (e *env) openDevice(path string) (*device, error) {
	st, err := ee.LoadState(path)
	if err != nil {
		return nil, err
	}
	return e.deviceOf(path, st)
}

func (e *env) deviceOf(path string, st *ee.State) (*device, error) {
	d, err := ee.Open(st)
	if err != nil {
		return nil, err
	}
	c, err := e.client()
	if err != nil {
		return nil, err
	}
	return &device{e: e, path: path, d: d, trans: c.V2X().Transport(st.Deployment)}, nil
}

func (d *device) save() error { return d.d.State().Save(d.path) }

// input reads a verifier's input, fetching the latest CRL first when
// update is set.
func (d *device) input(ctx context.Context, f *ioFlags, update bool) ([]byte, error) {
	b, err := f.read(d.e)
	if err != nil || !update {
		return b, err
	}
	if err := d.d.UpdateCRL(ctx, d.trans); err != nil {
		return nil, fmt.Errorf("CRL: %w", err)
	}
	return b, d.save()
}

// deviceRun adapts a device command body.
func (e *env) deviceRun(path *string, fn func(ctx context.Context, d *device, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		d, err := e.openDevice(*path)
		if err != nil {
			return err
		}
		return fn(cmd.Context(), d, args)
	}
}

func psidsOf(in []uint) []ieee1609.Psid {
	out := make([]ieee1609.Psid, len(in))
	for i, p := range in {
		out[i] = ieee1609.Psid(p)
	}
	return out
}

func (e *env) v2xEnrollCommand() *cobra.Command {
	var state, dep, id, kind, pin string
	var psids []uint
	cmd := &cobra.Command{
		Use:   "enroll --state FILE --deployment NAME --id DEVICE-ID --root-pin HEX",
		Short: "As a device: create the state file, fetch the trust list (checked against the root pin) and enrol with the ECA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rootPin ieee1609.HashedId8
			if b, err := hex.DecodeString(pin); err != nil || len(b) != len(rootPin) {
				return errors.New("--root-pin is the root certificate's HashedId8, 16 hex digits (mima v2x show)")
			} else {
				copy(rootPin[:], b)
			}
			st, err := ee.NewState(rand.Reader, id, kind, rootPin)
			if err != nil {
				return err
			}
			st.Deployment = dep
			d, err := e.deviceOf(state, st)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := d.d.UpdateTrust(ctx, d.trans); err != nil {
				return fmt.Errorf("trust list: %w", err)
			}
			if err := d.d.Enrol(ctx, d.trans, psidsOf(psids)); err != nil {
				return err
			}
			if err := d.save(); err != nil {
				return err
			}
			fmt.Fprintf(e.out, "enrolled %s in %s; state in %s\n", id, dep, state)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&state, "state", "", "the device's state file (keys: keep it private)")
	fl.StringVar(&dep, "deployment", "", "the deployment")
	fl.StringVar(&id, "id", "", "the device's canonical id, as on the ECA's allow-list")
	fl.StringVar(&kind, "kind", "vehicle", "vehicle or roadside")
	fl.StringVar(&pin, "root-pin", "", "HashedId8 of the deployment's root certificate, from the operator")
	fl.UintSliceVar(&psids, "psid", []uint{32}, "PSIDs the device will request certificates for")
	for _, f := range []string{"state", "deployment", "id", "root-pin"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (e *env) v2xRequestCommand() *cobra.Command {
	var state, start string
	var span time.Duration
	var psids []uint
	cmd := &cobra.Command{
		Use:   "request-pseudonyms --state FILE",
		Short: "As a vehicle: ask the RA for pseudonym certificates (butterfly keys); a roadside unit gets one application certificate",
		Args:  cobra.NoArgs,
		RunE: e.deviceRun(&state, func(ctx context.Context, d *device, _ []string) error {
			var hash string
			if d.d.State().Kind == "roadside" {
				if err := d.d.RequestApplicationCert(ctx, d.trans, span, psidsOf(psids)); err != nil {
					return err
				}
				hash = d.d.State().App.Request
			} else {
				from := time.Now()
				if start != "" {
					t, err := time.Parse(time.RFC3339, start)
					if err != nil {
						return fmt.Errorf("--start: %w", err)
					}
					from = t
				}
				r, err := d.d.RequestPseudonymsFrom(ctx, d.trans, from, span, psidsOf(psids))
				if err != nil {
					return err
				}
				hash = r.Hash
				fmt.Fprintf(e.out, "first i-period %d\n", r.First)
			}
			fmt.Fprintf(e.out, "request %s acknowledged; download once the RA has flushed it\n", hash)
			return d.save()
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "the device's state file")
	durationFlag(cmd.Flags(), &span, "span", 7*24*time.Hour, "time the certificates should cover")
	cmd.Flags().StringVar(&start, "start", "", "RFC 3339 time the certificates should start at (default: now)")
	cmd.Flags().UintSliceVar(&psids, "psid", []uint{32}, "PSIDs to sign")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

func (e *env) v2xDownloadCommand() *cobra.Command {
	var state, request string
	var period int
	cmd := &cobra.Command{
		Use:   "download --state FILE",
		Short: "As a device: download, decrypt and reconstruct the certificates of the latest request (every period, or --period)",
		Args:  cobra.NoArgs,
		RunE: e.deviceRun(&state, func(ctx context.Context, d *device, _ []string) error {
			st := d.d.State()
			first := uint16(0)
			switch {
			case st.Kind == "roadside" && st.App != nil:
				request = orElse(request, st.App.Request)
			case len(st.Requests) > 0:
				last := st.Requests[len(st.Requests)-1]
				if request == "" || request == last.Hash {
					request, first = last.Hash, last.First
				}
			}
			if request == "" {
				return errors.New("no request: run request-pseudonyms first")
			}
			if period >= 0 {
				first = uint16(period)
			}
			total := 0
			for i := first; ; i++ {
				n, err := d.d.Download(ctx, d.trans, request, i)
				if errors.Is(err, sdk.ErrNotFound) && total > 0 && period < 0 {
					break
				}
				if err != nil {
					return err
				}
				total += n
				fmt.Fprintf(e.out, "i-period %d: %d certificates\n", i, n)
				if period >= 0 || st.Kind == "roadside" {
					break
				}
			}
			return d.save()
		}),
	}
	cmd.Flags().StringVar(&state, "state", "", "the device's state file")
	cmd.Flags().StringVar(&request, "request", "", "request hash (default: the latest)")
	cmd.Flags().IntVar(&period, "period", -1, "only this i-period")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// orElse is a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (e *env) v2xSignCommand() *cobra.Command {
	var state string
	var psid uint64
	var lat, lon float64
	var f ioFlags
	cmd := &cobra.Command{
		Use:   "sign --state FILE --in MESSAGE --out SPDU",
		Short: "As a device: sign a message (e.g. a basic safety message) with the current pseudonym; writes the SPDU (COER)",
		Args:  cobra.NoArgs,
		RunE: e.deviceRun(&state, func(ctx context.Context, d *device, _ []string) error {
			msg, err := f.read(e)
			if err != nil {
				return err
			}
			var loc *ieee1609.ThreeDLocation
			if lat != 0 || lon != 0 {
				loc = &ieee1609.ThreeDLocation{Latitude: int32(lat * 1e7), Longitude: int32(lon * 1e7)}
			}
			spdu, err := d.d.Sign(msg, ieee1609.Psid(psid), loc)
			if err != nil {
				return err
			}
			return f.write(e, spdu)
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&state, "state", "", "the device's state file")
	cmd.Flags().Uint64Var(&psid, "psid", 32, "the message's PSID")
	cmd.Flags().Float64Var(&lat, "latitude", 0, "generation location, degrees")
	cmd.Flags().Float64Var(&lon, "longitude", 0, "generation location, degrees")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// V2XVerification is what `mima v2x verify` reports.
type V2XVerification struct {
	OK          bool      `json:"ok"`
	Reason      string    `json:"reason,omitempty"`
	Message     string    `json:"message,omitempty"`
	Psid        uint64    `json:"psid,omitempty"`
	Signer      string    `json:"signer,omitempty"` // HashedId8 (hex)
	Pseudonym   bool      `json:"pseudonym,omitempty"`
	Generated   time.Time `json:"generated,omitzero"`
	PayloadSize int       `json:"payload_size,omitempty"`
}

func (e *env) v2xVerifyCommand() *cobra.Command {
	var state string
	var psid uint64
	var maxAge time.Duration
	var update bool
	var f ioFlags
	cmd := &cobra.Command{
		Use:   "verify --state FILE --in SPDU",
		Short: "As a device: verify another device's SPDU against the trust list and CRLs; exit 2 with the reason if refused",
		Args:  cobra.NoArgs,
		RunE: e.deviceRun(&state, func(ctx context.Context, d *device, _ []string) error {
			spdu, err := d.input(ctx, &f, update)
			if err != nil {
				return err
			}
			v, err := d.d.Verify(spdu, ieee1609.Psid(psid), maxAge)
			out := V2XVerification{OK: err == nil}
			if err != nil {
				if trust.CodeOf(err) == "" {
					return err
				}
				out.Reason, out.Message = string(trust.CodeOf(err)), err.Error()
			} else {
				id, _ := sec.HashedID8(v.Signer)
				out.Psid, out.Signer, out.PayloadSize = uint64(v.Header.Psid), hex.EncodeToString(id[:]), len(v.Payload)
				out.Pseudonym = v.Signer.ToBeSigned.ID.LinkageData != nil
				if v.Header.GenerationTime != nil {
					out.Generated = v.Header.GenerationTime.Time()
				}
			}
			if perr := e.print(out, func(w io.Writer) {
				if out.OK {
					fmt.Fprintf(w, "OK\tPSID %d, signer %s, generated %s\n", out.Psid, out.Signer, out.Generated.Format(time.RFC3339Nano))
				} else {
					fmt.Fprintf(w, "REFUSED\t%s\n", out.Message)
				}
			}); perr != nil {
				return perr
			}
			if !out.OK {
				return exitError{code: 2}
			}
			return nil
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&state, "state", "", "the device's state file")
	cmd.Flags().Uint64Var(&psid, "psid", 0, "require this PSID (0: any the signer may use)")
	durationFlag(cmd.Flags(), &maxAge, "max-age", 0, "refuse messages generated longer ago (0: no limit)")
	cmd.Flags().BoolVar(&update, "update", true, "fetch the latest CRL first")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

func (e *env) v2xCheckRevokedCommand() *cobra.Command {
	var state string
	var update bool
	var f ioFlags
	cmd := &cobra.Command{
		Use:   "check-revoked --state FILE --in CERT|SPDU",
		Short: "As a device: is this certificate (COER), or the signer of this SPDU, revoked? exit 2 if it is",
		Args:  cobra.NoArgs,
		RunE: e.deviceRun(&state, func(ctx context.Context, d *device, _ []string) error {
			b, err := d.input(ctx, &f, update)
			if err != nil {
				return err
			}
			cert, err := certificateOf(b)
			if err != nil {
				return err
			}
			revoked, err := d.d.CheckRevoked(cert)
			if err != nil {
				return err
			}
			if err := e.print(map[string]bool{"revoked": revoked}, func(w io.Writer) { fmt.Fprintf(w, "Revoked\t%s\n", strconv.FormatBool(revoked)) }); err != nil {
				return err
			}
			if revoked {
				return exitError{code: 2}
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&f.in, "in", "", "the certificate or SPDU, COER (default: standard input)")
	cmd.Flags().StringVar(&state, "state", "", "the device's state file")
	cmd.Flags().BoolVar(&update, "update", true, "fetch the latest CRL first")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// remoteLAFlags place a deployment's LA at another cluster.
type remoteLAFlags struct{ url, name, tokenFile, caFile string }

func (r *remoteLAFlags) register(fl *pflag.FlagSet, la string) {
	fl.StringVar(&r.url, la+"-url", "", "the "+strings.ToUpper(la)+" is at the mima cluster at this address instead of a tenant here")
	fl.StringVar(&r.name, la+"-name", "", "the standalone LA's name there (default the deployment's name and -"+la+")")
	fl.StringVar(&r.tokenFile, la+"-token-file", "", "a file holding a token of the LA's tenant there")
	fl.StringVar(&r.caFile, la+"-ca-cert", "", "PEM CA certificates of that cluster's TLS certificate, if not the system's")
}

// read returns the remote LA the flags give (named name by default), or
// nil.
func (r *remoteLAFlags) read(name string) (*sdk.V2XRemoteLA, error) {
	if r.url == "" {
		return nil, nil
	}
	if r.tokenFile == "" {
		return nil, errors.New("a remote LA needs --la1-token-file or --la2-token-file")
	}
	token, err := os.ReadFile(r.tokenFile)
	if err != nil {
		return nil, err
	}
	if r.name != "" {
		name = r.name
	}
	out := &sdk.V2XRemoteLA{URL: r.url, Name: name, Token: strings.TrimSpace(string(token))}
	if r.caFile != "" {
		ca, err := os.ReadFile(r.caFile)
		if err != nil {
			return nil, err
		}
		out.CACert = string(ca)
	}
	return out, nil
}

func (e *env) v2xLACommand() *cobra.Command {
	cmd := &cobra.Command{Use: "la", Short: "Standalone linkage authorities, for deployments of other clusters (a token of the LA's tenant)"}
	var req sdk.V2XLARequest
	var pcaFile string
	create := &cobra.Command{
		Use:   "create NAME --id 0001|0002 --pca-cert FILE",
		Short: "Create an LA in this tenant for a deployment of another cluster, with its PCA certificate (COER, from mima v2x show)",
		Args:  cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			pca, err := os.ReadFile(pcaFile)
			if err != nil {
				return err
			}
			req.Name, req.PCA = args[0], pca
			la, err := c.V2X().CreateLA(ctx, req)
			if err != nil {
				return err
			}
			return e.printLA(la)
		}),
	}
	fl := create.Flags()
	fl.StringVar(&req.ID, "id", "", "the LA id the deployment gives it: 0001 for LA1, 0002 for LA2")
	fl.StringVar(&pcaFile, "pca-cert", "", "the deployment's PCA certificate (COER)")
	fl.StringVar(&req.Period, "period", "", "the deployment's i-period (default 168h)")
	fl.IntVar(&req.RetainPeriods, "retain-periods", 0, "periods after a chain ends that it is kept (default 13)")
	_ = create.MarkFlagRequired("id")
	_ = create.MarkFlagRequired("pca-cert")
	show := &cobra.Command{
		Use: "show NAME", Short: "Describe an LA of this tenant", Args: cobra.ExactArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			la, err := c.V2X().GetLA(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printLA(la)
		}),
	}
	cmd.AddCommand(create, show)
	return cmd
}

func (e *env) printLA(la sdk.V2XLA) error {
	return e.print(la, func(w io.Writer) {
		fmt.Fprintf(w, "Name\t%s\nID\t%s\nPeriod\t%s, kept %d periods\nCreated\t%s\n", la.Name, la.ID, la.Period, la.RetainPeriods, la.Created.Format(time.RFC3339))
	})
}
