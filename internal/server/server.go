// Package server runs a mima node: it reads the configuration, opens the
// store and the audit log, wires the core, the services and the API, and
// serves until told to stop, finishing in-flight requests first.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/authn"
	"github.com/mimacrypto/mima/internal/barrier"
	"github.com/mimacrypto/mima/internal/cms"
	"github.com/mimacrypto/mima/internal/coherence"
	"github.com/mimacrypto/mima/internal/console"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/pool"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/pki"
	"github.com/mimacrypto/mima/internal/quota"
	"github.com/mimacrypto/mima/internal/ratelimit"
	"github.com/mimacrypto/mima/internal/seal"
	"github.com/mimacrypto/mima/internal/sealstate"
	"github.com/mimacrypto/mima/internal/sm9"
	"github.com/mimacrypto/mima/internal/storage"
	"github.com/mimacrypto/mima/internal/storage/bolt"
	"github.com/mimacrypto/mima/internal/storage/inmem"
	"github.com/mimacrypto/mima/internal/storage/postgres"
	"github.com/mimacrypto/mima/internal/v2x/remotela"
	"github.com/mimacrypto/mima/internal/v2x/scms"
)

// Version is the version reported by the health endpoint; the build sets
// it with -ldflags "-X github.com/mimacrypto/mima/internal/server.Version=…".
var Version = "0.1.0-dev"

// node is one assembled mima node.
type node struct {
	cfg     Config
	log     *slog.Logger
	devices *pool.Pool // nil without a devices list
	quotas  *quota.Service
	backend storage.Backend
	sink    audit.Sink
	barrier *barrier.Barrier
	leader  atomic.Bool // this node runs the cluster's jobs
	audit   *audit.Logger
	auth    *authn.Service
	keys    *kms.Service
	pki     *pki.Service
	cms     *cms.Service
	v2x     *scms.Service
	sm9     *sm9.Service
	core    *sealstate.Machine
	api     *api.Server

	export     *audit.Exporter          // nil unless audit_export is set
	stopExport func()                   // stops the running export and waits for it
	closers    []io.Closer              // devices, closed last
	opened     map[string]device.Device // the listed devices by name
	retired    map[string]bool          // deleted tenants whose device keys are destroyed (jobs goroutine)
}

// Run serves mima with cfg until ctx is cancelled. It prints the address
// (and, for the development server, the root token) to out.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	n, err := assemble(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.close()
	if err := n.start(ctx, out); err != nil {
		return err
	}
	eps, err := listen(cfg)
	if err != nil {
		return err
	}
	lns := make([]net.Listener, len(eps))
	for i, ep := range eps {
		lns[i] = ep.ln
		if ep.tlcp {
			fmt.Fprintf(out, "mima %s serving TLCP on %s\n", Version, ep.url)
		}
	}
	// The last line names the main endpoint; scripts wait for it.
	fmt.Fprintf(out, "mima %s listening on %s\n", Version, eps[len(eps)-1].url)
	go n.runJobs(ctx, cfg.JobsInterval)
	n.runDeviceChecks(ctx)
	n.runExport(ctx)
	if _, shared := n.backend.(storage.Watcher); shared {
		go coherence.Run(ctx, n.barrier, cfg.CacheRecheckInterval, n.log, n.auth, n.keys, n.pki, n.cms, n.v2x, n.quotas)
	}
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, n.log)
	}
	h, err := n.handler()
	if err != nil {
		return err
	}
	return serve(ctx, lns, h, cfg, n.log)
}

// handler serves the API, and the web console under /ui/.
func (n *node) handler() (http.Handler, error) {
	ui, err := console.New(n.api, console.WithLogger(n.log))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui)
	mux.Handle("/", n.api)
	return mux, nil
}

// assemble opens the store and audit log and wires the node.
func assemble(ctx context.Context, cfg Config) (*node, error) {
	n := &node{cfg: cfg, log: newLogger(cfg), retired: map[string]bool{}}
	if err := n.open(ctx); err != nil {
		n.close()
		return nil, err
	}
	witnesses, err := openWitnesses(cfg.AuditWitnesses)
	if err != nil {
		n.close()
		return nil, err
	}
	writes := newAuditWriteMetrics()
	n.audit, err = audit.New(n.sink,
		audit.WithWriteObserver(writes.observe),
		audit.WithCheckpointEvery(cfg.AuditCheckpointRecords),
		audit.WithCheckpointInterval(cfg.AuditCheckpointInterval),
		audit.WithWitnesses(n.chainName(), witnesses...),
		audit.WithErrorHandler(func(err error) { n.log.Error("audit checkpoint failed", "error", err) }))
	if err != nil {
		n.close()
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	var opts []sealstate.Option
	if cfg.UnsealKEKFile != "" {
		kek, err := seal.ReadKEKFile(cfg.UnsealKEKFile)
		if err != nil {
			n.close()
			return nil, err
		}
		opts = append(opts, sealstate.WithKEK(kek))
	}
	dev, devices, err := n.openDevices()
	if err != nil {
		n.close()
		return nil, err
	}
	n.devices = devices
	if cfg.Seal.Type != "" {
		w, err := n.sealWrapper()
		if err != nil {
			n.close()
			return nil, err
		}
		opts = append(opts, sealstate.WithWrapper(w))
	}
	n.barrier = barrier.New(n.backend)
	n.auth = authn.New(authn.WithOperations(api.Operations()))
	keys := sealstate.NewAuditKeys(n.audit)
	n.quotas = quota.New(time.Now)
	n.keys = kms.New(dev, kms.WithNonceLimit(cfg.NonceLimit), kms.WithKeyQuota(n.quotas.MaxKeys))
	n.sm9 = sm9.New(n.keys, dev.Random())
	n.pki = pki.New(n.keys)
	n.cms = cms.New(n.keys, n.pki, cms.WithChallengesPerTenant(int(cfg.LoginChallenges)))
	n.v2x = scms.New(n.keys, scms.WithRemoteLA(remotela.Dial))
	n.core = sealstate.New(n.backend, n.barrier, n.auth, append(opts, sealstate.WithComponents(keys, n.keys, n.pki, n.cms, n.v2x, n.sm9, n.quotas))...)
	n.api = api.New(api.Services{Core: n.core, Auth: n.auth, Keys: n.keys, PKI: n.pki, CMS: n.cms, V2X: n.v2x, SM9: n.sm9}, n.audit,
		api.WithVersion(Version),
		api.WithMaxBodyBytes(cfg.MaxRequestBytes),
		api.WithLogger(n.log),
		api.WithLeader(n.leader.Load),
		api.WithDeployment(cfg.deployment()),
		publicLimit(cfg),
		api.WithRefusalSampling(cfg.AuditRefusalInterval, time.Now),
		n.exportMetrics(),
		api.WithCollectors(writes.took, writes.lines),
		n.deviceOptions(),
		api.WithQuotas(n.quotas),
		api.WithAuditSource(api.AuditSource{Own: n.sink, Chains: n.auditChains, Options: func() audit.VerifyOptions {
			return audit.VerifyOptions{PublicKey: keys.PublicKey()}
		}}))
	return n, nil
}

// publicLimit is the per-client limit on public routes that cfg asks for.
func publicLimit(cfg Config) api.Option {
	if cfg.PublicRateLimit == 0 {
		return func(*api.Server) {}
	}
	trusted, _ := cfg.trustedProxies() // validated by Load
	return api.WithPublicRateLimit(ratelimit.New(float64(cfg.PublicRateLimit), int(cfg.PublicRateBurst)), trusted)
}

// open opens the store and this node's audit sink. It sets n.backend and
// n.sink only to what opened, never to a typed nil that close would call.
func (n *node) open(ctx context.Context) error {
	switch n.cfg.Storage {
	case "inmem":
		n.backend = inmem.New()
	case "bolt":
		b, err := bolt.Open(filepath.Join(n.cfg.DataDir, "mima.db"))
		if err != nil {
			return err
		}
		n.backend = b
	case "postgres":
		pg, err := postgres.Open(ctx, postgres.Config{DSN: n.cfg.PostgresDSN, MaxConns: int32(n.cfg.PostgresMaxConns)})
		if err != nil {
			return err
		}
		n.backend = pg
	}
	return n.openSink(ctx)
}

// openSink opens this node's audit sink: its chain in the store when the
// store keeps the chains of the nodes that share it, files otherwise.
func (n *node) openSink(ctx context.Context) error {
	if chains, ok := n.backend.(audit.ChainStore); ok {
		return n.openChain(ctx, chains)
	}
	return n.openAuditSink()
}

// openChain keeps this node's audit chain in a store that several nodes
// share, which keeps every node's chain.
func (n *node) openChain(ctx context.Context, chains audit.ChainStore) error {
	cfg := audit.ChainConfig{
		SegmentMaxBytes: n.cfg.AuditSegmentMaxBytes, SegmentMaxAge: n.cfg.AuditSegmentMaxAge,
		OnError: func(err error) { n.log.Error("audit segment work failed", "error", err) },
	}
	if n.cfg.AuditArchiveDir != "" {
		// Each node's sealed partitions go to <dir>/<node id>.
		cfg.Archiver, cfg.Retention = audit.ChainArchiveDir(n.cfg.AuditArchiveDir), n.cfg.AuditRetention
	}
	sink, err := chains.AuditSink(ctx, n.nodeID(), cfg)
	if err != nil {
		return err
	}
	n.sink = sink
	return nil
}

// nodeID is the configured node id, or the host name.
func (n *node) nodeID() string {
	if n.cfg.NodeID != "" {
		return n.cfg.NodeID
	}
	host, _ := os.Hostname()
	return host
}

// chainName names this node's audit chain: its node id in a shared store,
// "" otherwise (as in auditChains).
func (n *node) chainName() string {
	if _, ok := n.backend.(audit.ChainStore); ok {
		return n.nodeID()
	}
	return ""
}

// openWitnesses opens the configured audit witnesses.
func openWitnesses(targets []string) ([]audit.Witness, error) {
	ws := make([]audit.Witness, 0, len(targets))
	for _, target := range targets {
		w, err := audit.OpenWitness(target)
		if err != nil {
			return nil, fmt.Errorf("audit_witnesses: %w", err)
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// auditChains are the audit chains this node can verify: every node's in
// a shared store, its own otherwise.
func (n *node) auditChains(ctx context.Context) (map[string]audit.Source, error) {
	shared, ok := n.backend.(audit.ChainStore)
	if !ok {
		return map[string]audit.Source{"": n.sink}, nil
	}
	nodes, err := shared.AuditNodes(ctx)
	if err != nil {
		return nil, err
	}
	chains := map[string]audit.Source{}
	for _, node := range nodes {
		chains[node] = shared.AuditSource(node)
	}
	return chains, nil
}

// devAuditRecords is how many audit records an in-memory server keeps.
const devAuditRecords = 200_000

// openAuditSink keeps the audit log in files next to the store. A server
// on the in-memory store without an audit_dir keeps its newest
// devAuditRecords records in memory, like the rest of its state: chained,
// HMACed and checkpointed as in production, but lost at exit.
func (n *node) openAuditSink() error {
	dir := n.cfg.auditDir()
	if dir == "" {
		n.sink = audit.NewMemorySink(devAuditRecords)
		return nil
	}
	return n.openAuditLog(dir)
}

// start unseals with the KEK when one is configured, or initialises and
// unseals the development server.
func (n *node) start(ctx context.Context, out io.Writer) error {
	if n.cfg.Dev {
		return n.startDev(ctx, out)
	}
	st, err := n.core.Status(ctx)
	if err != nil {
		return err
	}
	switch {
	case !st.Initialized:
		fmt.Fprintln(out, "mima is not initialised: run `mima operator init`")
	case n.cfg.UnsealKEKFile != "":
		if err := n.core.AutoUnseal(ctx); err != nil {
			return err
		}
		fmt.Fprintln(out, "unsealed with the unattended KEK")
	case n.cfg.Seal.Type != "":
		if err := n.core.AutoUnseal(ctx); err != nil {
			return err
		}
		fmt.Fprintf(out, "unsealed with the %s seal (device %s, key %s)\n", n.cfg.Seal.Type, n.cfg.Seal.Device, n.cfg.Seal.KeyLabel)
	default:
		fmt.Fprintf(out, "mima is sealed: unseal with %d of %d key shares (`mima operator unseal`)\n", st.Threshold, st.Shares)
	}
	return nil
}

func (n *node) startDev(ctx context.Context, out io.Writer) error {
	res, err := n.core.Init(ctx, 1, 1)
	if err != nil {
		return err
	}
	if _, err := n.core.Unseal(ctx, res.Shares[0]); err != nil {
		return err
	}
	root := res.RootToken
	if n.cfg.DevRootToken != "" {
		if err := n.auth.CreateStaticRoot(ctx, n.cfg.DevRootToken); err != nil {
			return err
		}
		root = n.cfg.DevRootToken
	}
	fmt.Fprintf(out, "development server: in-memory, initialised and unsealed; nothing survives a restart\n"+
		"unseal share: %s\nroot token:   %s\n\n"+
		"export MIMA_ADDR=%s%s MIMA_TOKEN=%s\n", res.Shares[0], root, scheme(n.cfg.TLSCertFile != ""), n.cfg.ListenAddr, root)
	return nil
}

// serve answers requests on every listener with h until ctx is cancelled
// or a listener fails, then stops accepting and waits up to
// cfg.ShutdownTimeout for in-flight requests.
func serve(ctx context.Context, lns []net.Listener, h http.Handler, cfg Config, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if failed != nil {
		return failed
	}
	for range lns {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// runJobs performs the key service's due destructions and automatic
// rotations, and the CA's due CRL reissues, every interval while the node
// is unsealed. In a cluster only the node holding the "mima-jobs" lock
// runs them; when it dies its lock is freed and another node takes over at
// its next tick.
func (n *node) runJobs(ctx context.Context, every time.Duration) {
	var lock storage.Lock
	defer func() {
		if lock != nil {
			lock.Release()
		}
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n.core.Sealed() {
				continue
			}
			lock = n.lead(ctx, lock)
			if lock == nil {
				continue
			}
			n.runJobsOnce(ctx, now)
		}
	}
}

// lead keeps or takes the jobs lock and returns it, or nil while another
// node leads.
func (n *node) lead(ctx context.Context, lock storage.Lock) storage.Lock {
	if lock != nil && !lock.Held(ctx) {
		n.log.Warn("lost the cluster jobs lock")
		lock.Release()
		lock = nil
	}
	if lock == nil {
		l, ok, err := n.barrier.TryLock(ctx, "mima-jobs")
		if err != nil {
			n.log.Error("taking the cluster jobs lock", "error", err)
		}
		if ok {
			lock = l
		}
	}
	n.leader.Store(lock != nil)
	return lock
}

func (n *node) runJobsOnce(ctx context.Context, now time.Time) {
	rep, err := n.keys.RunJobs(ctx, now)
	if err != nil {
		n.log.Error("key jobs failed", "error", err)
	} else if rep != (kms.JobReport{}) {
		n.log.Info("key jobs ran", "destroyed", rep.Destroyed, "rotated", rep.Rotated)
	}
	if crls, err := n.pki.RunJobs(ctx, now); err != nil {
		n.log.Error("CRL jobs failed", "error", err)
	} else if crls.CRLsIssued > 0 {
		n.log.Info("CRLs reissued", "count", crls.CRLsIssued)
	}
	if err := n.v2x.RunJobs(ctx); err != nil {
		n.log.Error("V2X jobs failed", "error", err)
	}
	if tidied, err := n.auth.TidyTokens(ctx, now); err != nil {
		n.log.Error("token tidy failed", "error", err)
	} else if tidied > 0 {
		n.log.Info("ended tokens deleted", "count", tidied)
	}
	n.retireTenants(ctx)
}

// close releases the audit log and the store. It seals the node before
// closing the store, so that the key service gives back the nonces it
// reserved and did not use.
func (n *node) close() {
	if n.api != nil {
		n.api.FlushAudit(context.Background())
	}
	if n.audit != nil {
		if err := n.audit.Close(); err != nil {
			n.log.Error("closing the audit log", "error", err)
		}
	}
	if n.stopExport != nil {
		n.stopExport()
	}
	if c, ok := n.sink.(io.Closer); ok {
		_ = c.Close()
	}
	if n.core != nil {
		n.core.Seal()
	}
	if c, ok := n.backend.(storage.Closer); ok {
		if err := c.Close(); err != nil {
			n.log.Error("closing the store", "error", err)
		}
	}
	for _, c := range n.closers {
		if err := c.Close(); err != nil {
			n.log.Error("closing a device", "error", err)
		}
	}
}

// servePprof serves Go's profiles, for finding what costs CPU under load.
// They reveal no key material but do reveal internals, so the address
// should be loopback.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("pprof listener failed", "error", err)
	}
}

func newLogger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // checked by validate
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
