package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// exportTimeout bounds one delivery: connecting, sending a batch and
// hearing that it was received.
const exportTimeout = 30 * time.Second

// OpenDestination returns the export destination that typ and address
// name:
//
//	syslog  tcp://host:port (or host:port) or unix:///path, a stream
//	        socket: RFC 5424 messages with octet-counting framing (RFC 6587)
//	http    an http:// or https:// URL: each batch POSTed as JSON lines
//
// host names this node in syslog messages.
func OpenDestination(typ, address, host string) (Destination, error) {
	switch typ {
	case "syslog":
		network, addr, err := syslogAddress(address)
		if err != nil {
			return nil, err
		}
		return &SyslogDestination{network: network, addr: addr, host: syslogHost(host)}, nil
	case "http":
		u, err := url.Parse(address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("audit: export address %q: want an http:// or https:// URL", address)
		}
		return &HTTPDestination{url: address, client: &http.Client{Timeout: exportTimeout}}, nil
	}
	return nil, fmt.Errorf("audit: export type %q: want syslog or http", typ)
}

// syslogAddress splits a syslog export address into a network and an
// address for net.Dial.
func syslogAddress(address string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(address, "unix://"):
		network, addr = "unix", strings.TrimPrefix(address, "unix://")
	case strings.HasPrefix(address, "tcp://"):
		network, addr = "tcp", strings.TrimPrefix(address, "tcp://")
	default:
		network, addr = "tcp", address
	}
	if network == "unix" && !strings.HasPrefix(addr, "/") {
		return "", "", fmt.Errorf("audit: export address %q: want unix:///absolute/path", address)
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", "", fmt.Errorf("audit: export address %q: want tcp://host:port or unix:///path", address)
		}
	}
	return network, addr, nil
}

// SyslogDestination sends records to a syslog receiver over a stream
// socket, one RFC 5424 message per record (facility 13, log audit;
// severity 6, informational; APP-NAME mima; MSGID audit; MSG the record as
// stored), framed by octet counting (RFC 6587). Syslog has no
// acknowledgements, so each batch goes over its own connection: the
// exporter half-closes it after the last message, and the batch counts as
// received once the receiver, having read to that end, closes its side.
// A reset connection, or one that fails before that, sends the batch again.
type SyslogDestination struct {
	network, addr, host string
}

// Send delivers lines over one connection.
func (d *SyslogDestination) Send(ctx context.Context, lines [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, d.network, d.addr)
	if err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	bw := bufio.NewWriterSize(conn, 64<<10)
	var msg []byte
	for _, line := range lines {
		if msg, err = appendSyslog(msg[:0], d.host, line); err != nil {
			return err
		}
		bw.WriteString(strconv.Itoa(len(msg)))
		bw.WriteByte(' ')
		bw.Write(msg)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return fmt.Errorf("syslog: %w", err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil { // nil at the receiver's end of stream
		return fmt.Errorf("syslog: the receiver did not confirm the batch: %w", err)
	}
	return nil
}

// syslogPRI is <PRI> for facility 13 (log audit), severity 6.
const syslogPRI = "<110>1 "

// appendSyslog appends the RFC 5424 message of a record line to b. Its
// TIMESTAMP is the record's time to the microsecond.
func appendSyslog(b []byte, host string, line []byte) ([]byte, error) {
	var r struct {
		Time string `json:"time"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return b, fmt.Errorf("audit: export: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return b, fmt.Errorf("audit: export: record time: %w", err)
	}
	b = append(b, syslogPRI...)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, ' ')
	b = append(b, host...)
	b = append(b, " mima - audit - "...)
	return append(b, line...), nil
}

// syslogHost makes name a valid RFC 5424 HOSTNAME: printable ASCII
// without spaces, at most 255 characters, "-" when empty.
func syslogHost(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c <= ' ' || c > '~' {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(limit(b, 255))
}

// HTTPDestination POSTs each batch as JSON lines (Content-Type
// application/x-ndjson, one record per line, as stored); the batch counts
// as received when the endpoint answers 2xx.
type HTTPDestination struct {
	url    string
	client *http.Client
}

// Send posts lines.
func (d *HTTPDestination) Send(ctx context.Context, lines [][]byte) error {
	body := append(bytes.Join(lines, []byte("\n")), '\n')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}
