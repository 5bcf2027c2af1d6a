package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/internal/storage/postgres"
	"github.com/mimacrypto/mima/sdk"
)

func (e *env) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, export and search the audit log"}
	var dataDir, auditDir, publicKey, checkpoint, witness, outFile, dsn, from, archive string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Prove the audit chain and its signed checkpoints intact; exit 2 naming the first bad record",
		Long: "Verify the audit log: offline with --data-dir or --audit-dir (no server needed), otherwise\n" +
			"online through the API with the root token. --public-key pins the checkpoint key (the\n" +
			"public_key of an earlier report); --checkpoint names a checkpoint record kept elsewhere;\n" +
			"--witness names what a witness kept (audit_witnesses): every checkpoint in it must be in\n" +
			"the log unchanged, and the log must reach the newest, so a cut tail or rewritten history fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var (
				rep sdk.AuditReport
				err error
			)
			kept, err := readWitness(witness)
			if err != nil {
				return err
			}
			if archive != "" {
				rep, err = verifyArchive(cmd, archive, publicKey, checkpoint, from, kept)
			} else if dir := auditDirOf(dataDir, auditDir); dir != "" {
				rep, err = verifyOffline(cmd, dir, publicKey, checkpoint, from, kept)
			} else if dsn != "" {
				rep, err = verifyPostgres(cmd.Context(), dsn, publicKey, kept)
			} else {
				rep, err = e.verifyOnline(cmd.Context(), publicKey, kept)
			}
			if err != nil {
				return err
			}
			if perr := e.printAuditReport(rep); perr != nil {
				return perr
			}
			if !rep.OK {
				return exitError{code: 2}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&dataDir, "data-dir", "", "verify offline: the server's data directory")
	verify.Flags().StringVar(&auditDir, "audit-dir", "", "verify offline: the audit directory (default <data-dir>/audit)")
	verify.Flags().StringVar(&publicKey, "public-key", "", "base64 DER SM2 public key every checkpoint must be signed with")
	verify.Flags().StringVar(&checkpoint, "checkpoint", "", "file with a checkpoint record kept outside the data directory")
	verify.Flags().StringVar(&witness, "witness", "", "file with the checkpoints an audit witness kept (JSON lines; a syslog file works too)")
	verify.Flags().StringVar(&from, "from-checkpoint", "", "offline: start at this trusted checkpoint record (a file holding one, e.g. a segment's closing checkpoint verified before) instead of the first record")
	verify.Flags().StringVar(&archive, "archive", "", "verify offline an audit archive (audit_archive_dir, or what audit_archive_command wrote) from its manifest; pin the key with --public-key")
	secretFlag(verify.Flags(), &dsn, "postgres-dsn", "MIMA_POSTGRES_DSN", "verify offline every node's chain in this PostgreSQL database")

	export := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log as JSON lines (offline with --data-dir, else through the API)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := e.out
			if outFile != "" {
				f, err := os.Create(outFile)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if dir := auditDirOf(dataDir, auditDir); dir != "" {
				return audit.Export(cmd.Context(), w, audit.DirSource(dir))
			}
			c, err := e.client()
			if err != nil {
				return err
			}
			return c.Sys().ExportAudit(cmd.Context(), w)
		},
	}
	export.Flags().StringVar(&dataDir, "data-dir", "", "export offline from the server's data directory")
	export.Flags().StringVar(&auditDir, "audit-dir", "", "export offline from this audit directory")
	export.Flags().StringVar(&outFile, "out", "", "write to this file instead of standard output")
	segments := &cobra.Command{
		Use:   "segments",
		Short: "List the sealed segments of an audit directory with their range, size, verification and archiving",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := auditDirOf(dataDir, auditDir)
			if dir == "" {
				return fmt.Errorf("--data-dir or --audit-dir is required")
			}
			man, err := audit.ReadManifest(dir)
			if err != nil {
				return err
			}
			return e.print(man, func(w io.Writer) {
				fmt.Fprintf(w, "FILE\tSTATUS\tRECORDS\tFROM\tTO\tBYTES\tVERIFIED\n")
				for _, s := range man.Segments {
					checked := "pending"
					if s.Verified != nil {
						checked = "ok " + s.Verified.Time
						if !s.Verified.OK {
							checked = "FAILED: " + s.Verified.Reason
						}
					}
					status := s.Status
					if s.Archived != "" && s.Status != audit.StatusArchived {
						status += ", archived"
					}
					fmt.Fprintf(w, "%s\t%s\t%d-%d\t%s\t%s\t%d\t%s\n", s.File, status, s.FirstSeq, s.LastSeq, s.FirstTime, s.LastTime, s.Bytes, checked)
				}
			})
		},
	}
	segments.Flags().StringVar(&dataDir, "data-dir", "", "the server's data directory")
	segments.Flags().StringVar(&auditDir, "audit-dir", "", "the audit directory (default <data-dir>/audit)")
	cmd.AddCommand(verify, export, segments, e.auditSearchCommand())
	return cmd
}

func auditDirOf(dataDir, auditDir string) string {
	if auditDir != "" {
		return auditDir
	}
	if dataDir != "" {
		return filepath.Join(dataDir, "audit")
	}
	return ""
}

// pinned returns verification options pinning the checkpoint key, if one
// is given.
func pinned(publicKey string) (audit.VerifyOptions, error) {
	var opts audit.VerifyOptions
	if publicKey != "" {
		pub, err := audit.ParsePublicKey(publicKey)
		if err != nil {
			return opts, err
		}
		opts.PublicKey = pub
	}
	return opts, nil
}

// readWitness reads the checkpoints a witness kept, by node; nil when no
// file is named.
func readWitness(path string) (map[string][][]byte, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kept, err := audit.ReadWitness(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("%s holds no checkpoint", path)
	}
	return kept, nil
}

// singleChain returns the witnessed checkpoints of a single node's chain
// (the entries without a node name).
func singleChain(kept map[string][][]byte) ([][]byte, error) {
	if kept == nil {
		return nil, nil
	}
	if len(kept[""]) == 0 {
		return nil, fmt.Errorf("the witness holds checkpoints of cluster nodes %v only: verify the cluster with --postgres-dsn", slices.Sorted(maps.Keys(kept)))
	}
	return kept[""], nil
}

// verifyOnline has the server verify its log; with a witness it exports
// the log through the API and verifies it here against the witness.
func (e *env) verifyOnline(ctx context.Context, publicKey string, kept map[string][][]byte) (sdk.AuditReport, error) {
	c, err := e.client()
	if err != nil {
		return sdk.AuditReport{}, err
	}
	if kept == nil {
		return c.Sys().VerifyAudit(ctx)
	}
	opts, err := pinned(publicKey)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	if opts.Witnessed, err = singleChain(kept); err != nil {
		return sdk.AuditReport{}, err
	}
	var log bytes.Buffer
	if err := c.Sys().ExportAudit(ctx, &log); err != nil {
		return sdk.AuditReport{}, err
	}
	rep, err := audit.VerifyReader(ctx, &log, opts)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	return api.AuditReport(rep), nil
}

// verifyPostgres verifies every node's chain in a cluster's database, and
// the chain of every node the witness names: a chain deleted whole fails.
func verifyPostgres(ctx context.Context, dsn, publicKey string, kept map[string][][]byte) (sdk.AuditReport, error) {
	opts, err := pinned(publicKey)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	db, err := postgres.Open(ctx, postgres.Config{DSN: dsn, MaxConns: 2})
	if err != nil {
		return sdk.AuditReport{}, err
	}
	defer db.Close()
	nodes, err := db.AuditNodes(ctx)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	reports := map[string]audit.Report{}
	for node := range kept {
		if !slices.Contains(nodes, node) {
			nodes = append(nodes, node) // its chain is gone: verifying it fails
		}
	}
	for _, node := range nodes {
		opts.Witnessed = kept[node]
		if reports[node], err = audit.Verify(ctx, db.AuditSource(node), opts); err != nil {
			return sdk.AuditReport{}, err
		}
	}
	return api.AuditReports(reports), nil
}

// offlineOptions are the verification options the flags of an offline
// verification name.
func offlineOptions(publicKey, checkpoint, from string, kept map[string][][]byte) (audit.VerifyOptions, error) {
	opts, err := pinned(publicKey)
	if err != nil {
		return opts, err
	}
	if opts.Witnessed, err = singleChain(kept); err != nil {
		return opts, err
	}
	if checkpoint != "" {
		b, err := os.ReadFile(checkpoint)
		if err != nil {
			return opts, err
		}
		opts.Checkpoint = b
	}
	if from != "" {
		b, err := os.ReadFile(from)
		if err != nil {
			return opts, err
		}
		opts.From = bytes.TrimSpace(b)
	}
	return opts, nil
}

func verifyOffline(cmd *cobra.Command, dir, publicKey, checkpoint, from string, kept map[string][][]byte) (sdk.AuditReport, error) {
	opts, err := offlineOptions(publicKey, checkpoint, from, kept)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.log")); err != nil {
		return sdk.AuditReport{}, fmt.Errorf("no audit log in %s: %w", dir, err)
	}
	rep, err := audit.VerifyDir(cmd.Context(), dir, opts)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	return api.AuditReport(rep), nil
}

// verifyArchive verifies an audit archive offline.
func verifyArchive(cmd *cobra.Command, dir, publicKey, checkpoint, from string, kept map[string][][]byte) (sdk.AuditReport, error) {
	opts, err := offlineOptions(publicKey, checkpoint, from, kept)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	rep, err := audit.VerifyArchive(cmd.Context(), dir, opts)
	if err != nil {
		return sdk.AuditReport{}, err
	}
	return api.AuditReport(rep), nil
}

func (e *env) printAuditReport(r sdk.AuditReport) error {
	return e.print(r, func(w io.Writer) {
		if r.OK {
			fmt.Fprintf(w, "Audit log\tintact\n")
		} else {
			fmt.Fprintf(w, "Audit log\tFAILED at record %d (line %d): %s\n", r.FirstBad.Seq, r.FirstBad.Line, r.FirstBad.Reason)
		}
		fmt.Fprintf(w, "Records verified\t%d\n", r.Records)
		if r.FirstSeq > 1 {
			fmt.Fprintf(w, "From record\t%d (earlier ones are archived, dropped from a memory log, or before the trusted checkpoint)\n", r.FirstSeq)
		}
		fmt.Fprintf(w, "Checkpoints\t%d\n", r.Checkpoints)
		if r.Checkpoints > 0 {
			fmt.Fprintf(w, "Last checkpoint\trecord %d at %s\n", r.LastCheckpointSeq, r.LastCheckpointTime.Format(timeLayout))
			fmt.Fprintf(w, "Checkpoint key\t%s\n", r.PublicKey)
		}
		fmt.Fprintf(w, "After last checkpoint\t%d records (chain only: cutting them is not detectable)\n", r.AfterCheckpoint)
		if r.ExternalCheckpointSeq > 0 {
			fmt.Fprintf(w, "Outside checkpoint\trecord %d (saved or witnessed; the log may not end before it)\n", r.ExternalCheckpointSeq)
		}
	})
}
