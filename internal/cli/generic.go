package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
)

// genericCommands are read, write and delete: any API route by its path,
// as Vault's commands of the same names reach any of its paths.
func (e *env) genericCommands() []*cobra.Command {
	read := &cobra.Command{
		Use:   "read PATH [name=value...]",
		Short: "GET any API path (below /v1/), the pairs as query parameters",
		Example: `  mima read keys/orders
  mima read certs state=valid limit=10`,
		Args: cobra.MinimumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			path, err := queryPath(args[0], args[1:])
			if err != nil {
				return err
			}
			return e.rawCall(ctx, c, http.MethodGet, path, nil)
		}),
	}
	var method string
	write := &cobra.Command{
		Use:   "write PATH [name=value... | -]",
		Short: "POST (or PUT) a JSON body to any API path; values are JSON when they parse, @FILE reads a file, - reads the body from standard input",
		Example: `  mima write keys name=orders type=sm4
  mima write keys/orders/config min_decryption_version=2 min_encryption_version=2
  mima write policies/reader rules='[{"resource":"keys/*","operations":["read"]}]'`,
		Args: cobra.MinimumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			body, err := e.writeBody(args[1:])
			if err != nil {
				return err
			}
			m := strings.ToUpper(method)
			if m == "" {
				m = http.MethodPost
			}
			err = e.rawCall(ctx, c, m, apiPath(args[0]), body)
			var se *sdk.APIError
			if method == "" && errors.As(err, &se) && se.Status == http.StatusMethodNotAllowed {
				// Objects written whole (policies, profiles, rules) take PUT.
				return e.rawCall(ctx, c, http.MethodPut, apiPath(args[0]), body)
			}
			return err
		}),
	}
	write.Flags().StringVar(&method, "method", "", "POST or PUT (default: POST, or PUT where the path takes only PUT)")
	del := &cobra.Command{
		Use:   "delete PATH",
		Short: "DELETE any API path",
		Example: `  mima delete policies/reader
  mima delete keys/orders pending_days=7`,
		Args: cobra.MinimumNArgs(1),
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, args []string) error {
			path, err := queryPath(args[0], args[1:])
			if err != nil {
				return err
			}
			return e.rawCall(ctx, c, http.MethodDelete, path, nil)
		}),
	}
	return []*cobra.Command{read, write, del}
}

// apiPath is /v1/PATH for a PATH given with or without /v1/.
func apiPath(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "/"), "v1/")
	return "/v1/" + p
}

// queryPath is apiPath(p) with the name=value pairs as its query.
func queryPath(p string, pairs []string) (string, error) {
	q := url.Values{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return "", fmt.Errorf("%q must be name=value", kv)
		}
		q.Add(k, v)
	}
	if len(q) == 0 {
		return apiPath(p), nil
	}
	return apiPath(p) + "?" + q.Encode(), nil
}

// writeBody is the JSON body of name=value pairs, or standard input for
// "-"; nil for no pairs.
func (e *env) writeBody(pairs []string) (any, error) {
	if len(pairs) == 1 && pairs[0] == "-" {
		b, err := io.ReadAll(e.in)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(bytes.TrimSpace(b)), nil
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	body := map[string]any{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q must be name=value", kv)
		}
		var j any
		switch f, isFile := strings.CutPrefix(v, "@"); {
		case isFile:
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			body[k] = string(b)
		case json.Unmarshal([]byte(v), &j) == nil:
			body[k] = j
		default:
			body[k] = v
		}
	}
	return body, nil
}

// rawCall sends a request and prints its answer: JSON as a table of the
// top-level fields (or indented JSON with --format json), anything else
// (PEM, DER) as is.
func (e *env) rawCall(ctx context.Context, c *sdk.Client, method, path string, body any) error {
	a, err := c.Raw(ctx, method, path, body)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(a.ContentType, "application/json") {
		_, err := e.out.Write(a.Body)
		return err
	}
	var v any
	if len(bytes.TrimSpace(a.Body)) == 0 {
		v = map[string]any{}
	} else if err := json.Unmarshal(a.Body, &v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return e.print(v, func(w io.Writer) {
		m, ok := v.(map[string]any)
		if !ok {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintf(w, "%s\n", b)
			return
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "KEY\tVALUE")
		for _, k := range names {
			val := m[k]
			if s, ok := val.(string); ok {
				fmt.Fprintf(w, "%s\t%s\n", k, s)
				continue
			}
			b, _ := json.Marshal(val)
			fmt.Fprintf(w, "%s\t%s\n", k, b)
		}
	})
}
