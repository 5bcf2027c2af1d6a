package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Witness keeps a copy of every checkpoint out of reach of whoever can
// rewrite the log (another disk, a log server, another system), so that a
// log whose tail was cut off or whose history was rewritten is caught by
// verifying it against the witness (VerifyOptions.Witnessed).
type Witness interface {
	// Witness durably records entry, the JSON encoding of a WitnessEntry
	// (one line, without '\n').
	Witness(ctx context.Context, entry []byte) error
}

// WitnessEntry is what a witness receives for each checkpoint.
type WitnessEntry struct {
	// Node names the chain in a cluster; empty for a single node.
	Node string `json:"node,omitempty"`
	// Checkpoint is the checkpoint record exactly as stored in the log.
	Checkpoint json.RawMessage `json:"checkpoint"`
}

// witnessEntry encodes the entry of checkpoint line cp for node.
func witnessEntry(node string, cp []byte) []byte {
	b, _ := json.Marshal(WitnessEntry{Node: node, Checkpoint: cp}) // a string and valid JSON cannot fail
	return b
}

// ReadWitness reads what a witness kept, one WitnessEntry per line, and
// returns the checkpoint records of each node. Text before the first '{'
// of a line (a syslog prefix) and blank lines are skipped.
func ReadWitness(r io.Reader) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, MaxLineSize+64<<10)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		i := bytes.IndexByte(line, '{')
		if i < 0 {
			continue
		}
		var e WitnessEntry
		if err := json.Unmarshal(line[i:], &e); err != nil || len(e.Checkpoint) == 0 {
			return nil, fmt.Errorf("audit: witness line %d: not a witness entry", n)
		}
		var cp bytes.Buffer
		if err := json.Compact(&cp, e.Checkpoint); err != nil {
			return nil, fmt.Errorf("audit: witness line %d: %w", n, err)
		}
		out[e.Node] = append(out[e.Node], cp.Bytes())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: read witness: %w", err)
	}
	return out, nil
}

// OpenWitness returns the witness that target names:
//
//	/abs/path or file:///abs/path   append to a file (FileWitness)
//	http://… or https://…           POST to a URL (HTTPWitness)
//	syslog:                         the local syslog daemon
//	syslog+udp://host:port          a syslog server (also syslog+tcp://)
func OpenWitness(target string) (Witness, error) {
	if strings.HasPrefix(target, "/") {
		return NewFileWitness(target)
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("audit: witness %q: %w", target, err)
	}
	switch u.Scheme {
	case "file":
		return NewFileWitness(u.Path)
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("audit: witness %q: no host", target)
		}
		return NewHTTPWitness(target, nil), nil
	case "syslog":
		return NewSyslogWitness("", "")
	case "syslog+udp", "syslog+tcp":
		if u.Host == "" {
			return nil, fmt.Errorf("audit: witness %q: no host", target)
		}
		return NewSyslogWitness(strings.TrimPrefix(u.Scheme, "syslog+"), u.Host)
	}
	return nil, fmt.Errorf("audit: witness %q: want an absolute path, file:, http(s):, syslog: or syslog+udp/tcp: URL", target)
}

// FileWitness appends each entry as a line to a file, fsynced, opening it
// for every entry so that the file may be rotated or its disk remounted.
type FileWitness struct {
	path string
	mu   sync.Mutex
}

// NewFileWitness returns a witness appending to path (created with mode
// 0600); its directory must exist.
func NewFileWitness(path string) (*FileWitness, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("audit: witness file %q: path must be absolute", path)
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("audit: witness file %q: its directory does not exist", path)
	}
	return &FileWitness{path: path}, nil
}

// Witness appends entry and a '\n'. A line torn by a crash is ended first,
// so that it spoils only itself.
func (w *FileWitness) Witness(ctx context.Context, entry []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: witness file: %w", err)
	}
	defer f.Close()
	var buf []byte
	if end, err := lastByte(f); err != nil {
		return fmt.Errorf("audit: witness file: %w", err)
	} else if end >= 0 && end != '\n' {
		buf = append(buf, '\n')
	}
	buf = append(append(buf, entry...), '\n')
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("audit: witness file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: witness file: %w", err)
	}
	return f.Close()
}

// lastByte returns the last byte of f, or -1 when f is empty.
func lastByte(f *os.File) (int, error) {
	info, err := f.Stat()
	if err != nil || info.Size() == 0 {
		return -1, err
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], info.Size()-1); err != nil {
		return -1, err
	}
	return int(b[0]), nil
}

// httpWitnessTimeout bounds one POST of the default HTTPWitness client.
const httpWitnessTimeout = 10 * time.Second

// HTTPWitness POSTs each entry (Content-Type application/json) to a URL,
// which must answer 2xx once it has kept it.
type HTTPWitness struct {
	url    string
	client *http.Client
}

// NewHTTPWitness returns a witness posting to url with client (nil: a
// client with a 10-second timeout).
func NewHTTPWitness(url string, client *http.Client) *HTTPWitness {
	if client == nil {
		client = &http.Client{Timeout: httpWitnessTimeout}
	}
	return &HTTPWitness{url: url, client: client}
}

// Witness posts entry.
func (w *HTTPWitness) Witness(ctx context.Context, entry []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(entry))
	if err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("audit: witness %s answered %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}
