package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/internal/api"
	"github.com/mimacrypto/mima/internal/audit"
	"github.com/mimacrypto/mima/sdk"
)

func (e *env) auditSearchCommand() *cobra.Command {
	var q sdk.AuditQuery
	var from, to, dataDir, auditDir, archive string
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find audit records by time, tenant, operation, object and status, a page at a time",
		Long: "Search the audit log: offline with --data-dir, --audit-dir or --archive (a directory of sealed\n" +
			"segments), otherwise online through the API, where a tenant token sees its own tenant's records\n" +
			"and the root token those of the tenant that --tenant names (default: default). Offline, --tenant\n" +
			"(or MIMA_TENANT) keeps one tenant's records; without it, every tenant's. Sealed segments whose\n" +
			"index rules them out are not read. Search does not verify the records: audit verify does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			now := time.Now()
			if q.From, err = parseWhen(from, now); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			if q.To, err = parseWhen(to, now); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			var page sdk.AuditRecords
			if dir := auditDirOf(dataDir, auditDir); dir != "" || archive != "" {
				if archive != "" {
					dir = archive
				}
				page, err = e.searchOffline(cmd.Context(), dir, q)
			} else {
				var c *sdk.Client
				if c, err = e.client(); err == nil {
					page, err = c.Sys().SearchAudit(cmd.Context(), q)
				}
			}
			if err != nil {
				return err
			}
			return e.print(page, func(w io.Writer) {
				fmt.Fprintln(w, "SEQ\tTIME\tTENANT\tOPERATION\tOBJECT\tSTATUS\tCODE\tREQUEST")
				for _, r := range page.Items {
					seq := strconv.FormatUint(r.Seq, 10)
					if r.Node != "" {
						seq = r.Node + ":" + seq
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", seq, r.Time.Format(time.RFC3339Nano), r.Tenant, r.Operation, r.Object, r.Status, r.Code, r.RequestID)
				}
				if page.Next != "" {
					fmt.Fprintf(w, "\nmore: --after %s\n", page.Next)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "records at or after this time: RFC 3339, or a duration before now (24h)")
	f.StringVar(&to, "to", "", "records before this time: RFC 3339, or a duration before now")
	f.StringVar(&q.Operation, "op", "", "operation, exactly (encrypt, keys.create, ...)")
	f.StringVar(&q.Object, "object", "", "object name, exactly")
	f.StringVar(&q.Status, "status", "", "HTTP status (404) or class (4xx)")
	f.IntVar(&q.Limit, "limit", 0, "page size (default 100, at most 1000)")
	f.StringVar(&q.After, "after", "", "continue from this cursor (the next of a page)")
	f.StringVar(&dataDir, "data-dir", "", "search offline: the server's data directory")
	f.StringVar(&auditDir, "audit-dir", "", "search offline: the audit directory (default <data-dir>/audit)")
	f.StringVar(&archive, "archive", "", "search offline: an archive of sealed segments (a manifest and its segments/)")
	return cmd
}

// searchOffline searches an audit directory or archive for the tenant
// that --tenant names, or every tenant.
func (e *env) searchOffline(ctx context.Context, dir string, in sdk.AuditQuery) (sdk.AuditRecords, error) {
	q := audit.Query{From: in.From, To: in.To, Tenant: e.tenant, Operation: in.Operation, Object: in.Object, Limit: in.Limit}
	var err error
	if q.Status, err = audit.ParseStatuses(in.Status); err != nil {
		return sdk.AuditRecords{}, err
	}
	if in.After != "" {
		if q.After, err = strconv.ParseUint(in.After, 10, 64); err != nil {
			return sdk.AuditRecords{}, fmt.Errorf("--after must be the next of a previous page")
		}
	}
	page, err := audit.SearchDir(ctx, dir, q)
	if err != nil {
		return sdk.AuditRecords{}, err
	}
	out := sdk.AuditRecords{Items: make([]sdk.AuditRecord, len(page.Records))}
	for i, r := range page.Records {
		out.Items[i] = api.AuditRecord("", r)
	}
	if page.Next != 0 {
		out.Next = strconv.FormatUint(page.Next, 10)
	}
	return out, nil
}

// parseWhen reads an RFC 3339 time, or a duration before now; "" is the
// zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}
