package e2e

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/storage/postgres/pgtest"
	"github.com/mimacrypto/mima/sdk"
)

// ledger is what concurrent writers had acknowledged, and every broken
// invariant they saw while running.
type ledger struct {
	mu       sync.Mutex
	acks     int
	keys     []string     // created keys
	versions map[int]bool // versions of "rot" acknowledged by rotations
	serials  map[string]bool
	revoked  []string // acknowledged revocations
	broken   []string
}

func newLedger() *ledger { return &ledger{versions: map[int]bool{}, serials: map[string]bool{}} }

func (l *ledger) record(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acks++
	fn()
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acks
}

// waitAcks waits until n writes have been acknowledged in all.
func (l *ledger) waitAcks(t *testing.T, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d acknowledged writes", n), 30*time.Second, func() bool { return l.count() >= n })
}

// writers runs, until stop closes, two creators (each name is asked for
// by two nodes at once: one may win), two rotators of the key "rot" and
// two issuers from the CA "ca" that revoke every third certificate;
// requests go round the clients, and a failure (a node killed) is
// skipped.
func (l *ledger) writers(phase string, clients []*sdk.Client, csr string, stop <-chan struct{}) *sync.WaitGroup {
	ctx := context.Background()
	var wg sync.WaitGroup
	loop := func(w int, step func(i int, c, other *sdk.Client)) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				step(i, clients[(w+i)%len(clients)], clients[(w+i+1)%len(clients)])
			}
		})
	}
	for w := range 2 {
		loop(w, func(i int, c, other *sdk.Client) {
			name := fmt.Sprintf("k-%s-%d-%d", phase, w, i)
			var wins atomic.Int32
			var both sync.WaitGroup
			for _, cl := range []*sdk.Client{c, other} {
				both.Go(func() {
					if _, err := cl.Keys().Create(ctx, sdk.CreateKeyRequest{Name: name, Type: "sm4"}); err == nil {
						wins.Add(1)
					}
				})
			}
			both.Wait()
			if n := wins.Load(); n > 0 {
				l.record(func() {
					l.keys = append(l.keys, name)
					if n > 1 {
						l.broken = append(l.broken, "key "+name+" created twice")
					}
				})
			}
		})
	}
	for w := range 2 {
		last := 0
		loop(w, func(_ int, c, _ *sdk.Client) {
			k, err := c.Keys().Rotate(ctx, "rot")
			if err != nil {
				return
			}
			l.record(func() {
				if l.versions[k.LatestVersion] || k.LatestVersion <= last {
					l.broken = append(l.broken, fmt.Sprintf("rotation acknowledged version %d again, or after %d", k.LatestVersion, last))
				}
				l.versions[k.LatestVersion], last = true, k.LatestVersion
			})
		})
	}
	for w := range 2 {
		loop(w, func(i int, c, _ *sdk.Client) {
			cert, err := c.CA().SignCSR(ctx, "ca", sdk.SignCSRRequest{CSR: csr})
			if err != nil {
				return
			}
			l.record(func() {
				if l.serials[cert.Serial] {
					l.broken = append(l.broken, "serial "+cert.Serial+" issued twice")
				}
				l.serials[cert.Serial] = true
			})
			if i%3 == 0 {
				if _, err := c.CA().Revoke(ctx, "ca", cert.Serial, "keyCompromise"); err == nil {
					l.record(func() { l.revoked = append(l.revoked, cert.Serial) })
				}
			}
		})
	}
	return &wg
}

// check verifies through c that nothing acknowledged was lost: every key
// exists, every acknowledged version of "rot" is among its versions,
// every issued certificate is on record and every revoked one is on the
// CA's CRL; and that the audit chains verify.
func (l *ledger) check(t *testing.T, c *sdk.Client) {
	t.Helper()
	ctx := context.Background()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.broken {
		t.Error(b)
	}
	for _, name := range l.keys {
		if _, err := c.Keys().Get(ctx, name); err != nil {
			t.Errorf("acknowledged key %s: %v", name, err)
		}
	}
	rot, err := c.Keys().Get(ctx, "rot")
	if err != nil {
		t.Fatal(err)
	}
	have := map[int]bool{}
	for _, v := range rot.Versions {
		have[v.Version] = true
	}
	for v := range l.versions {
		if !have[v] || v > rot.LatestVersion {
			t.Errorf("acknowledged version %d of rot missing (latest %d)", v, rot.LatestVersion)
		}
	}
	for serial := range l.serials {
		if _, err := c.Certs().Get(ctx, serial); err != nil {
			t.Errorf("acknowledged certificate %s: %v", serial, err)
		}
	}
	der, err := c.CA().CRL(ctx, "ca")
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range crl.RevokedCertificateEntries {
		listed[e.SerialNumber.Text(16)] = true
	}
	for _, serial := range l.revoked {
		n, _ := new(big.Int).SetString(serial, 16)
		if !listed[n.Text(16)] {
			t.Errorf("revoked certificate %s is not on the CRL", serial)
		}
	}
	if len(l.keys) == 0 || len(l.versions) == 0 || len(l.revoked) == 0 {
		t.Errorf("the writers did too little to test: %d keys, %d rotations, %d revocations", len(l.keys), len(l.versions), len(l.revoked))
	}
	rep, err := c.Sys().VerifyAudit(ctx)
	if err != nil || !rep.OK {
		t.Errorf("audit: %+v, %v", rep, err)
	}
}

// setUpWriters creates the key "rot" and the root CA "ca" and returns a
// certificate request for the issuers.
func setUpWriters(t *testing.T, c *sdk.Client) string {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "rot", Type: "sm4"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CA().Create(ctx, sdk.CreateCARequest{Name: "ca", Type: "root", Subject: sdk.Subject{CommonName: "invariants"}}); err != nil {
		t.Fatal(err)
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{Subject: pkixName("leaf.example")}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestWritersOnThreeNodesSurviveKill runs creators, rotators and issuers
// over three nodes on one PostgreSQL and kills the leading node with
// SIGKILL in the middle: names stay unique, serials unique, key versions
// monotonic, nothing acknowledged is lost and the CRL lists every
// acknowledged revocation.
func TestWritersOnThreeNodesSurviveKill(t *testing.T) {
	c := startCluster(t, pgtest.Database(t), 3)
	ctx := context.Background()
	var clients []*sdk.Client
	for _, n := range c.nodes {
		clients = append(clients, n.client(t, c.root))
	}
	csr := setUpWriters(t, clients[0])
	eventually(t, "a leader", 5*time.Second, func() bool { return leaders(t, c.nodes) == 1 })
	victim := 0
	for i, node := range c.nodes {
		if h, _ := node.client(t, "").Sys().Health(ctx); h.Leader {
			victim = i
		}
	}
	l := newLedger()
	stop := make(chan struct{})
	wg := l.writers("pg", clients, csr, stop)
	l.waitAcks(t, 40)
	c.nodes[victim].kill()
	l.waitAcks(t, l.count()+40) // the survivors keep taking writes
	close(stop)
	wg.Wait()
	l.check(t, clients[(victim+1)%3])
}

// TestWritersSurviveKillOnBolt is the same on the bolt store, which one
// process holds at a time: the single node is killed with SIGKILL under
// the writers and restarted on the same data, and the writers go on.
func TestWritersSurviveKillOnBolt(t *testing.T) {
	dataDir := t.TempDir()
	srv, root, share := initialised(t, dataDir)
	csr := setUpWriters(t, srv.client(t, root))
	l := newLedger()
	stop := make(chan struct{})
	wg := l.writers("before", []*sdk.Client{srv.client(t, root)}, csr, stop)
	l.waitAcks(t, 40)
	srv.kill()
	close(stop)
	wg.Wait()

	srv = startServer(t, "--storage", "bolt", "--data-dir", dataDir)
	if _, err := srv.client(t, "").Sys().Unseal(context.Background(), share); err != nil {
		t.Fatal(err)
	}
	stop = make(chan struct{})
	wg = l.writers("after", []*sdk.Client{srv.client(t, root)}, csr, stop)
	l.waitAcks(t, l.count()+40)
	close(stop)
	wg.Wait()
	l.check(t, srv.client(t, root))
}
