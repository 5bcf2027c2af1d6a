//go:build !windows && !plan9

package audit

import (
	"context"
	"fmt"
	"log/syslog"
)

// SyslogWitness sends each entry as one syslog message (facility auth,
// severity notice, tag "mima-audit"). ReadWitness reads the daemon's file
// directly: it skips the prefix before the entry.
type SyslogWitness struct {
	w *syslog.Writer
}

// NewSyslogWitness connects to the syslog server at addr over network
// ("udp", "tcp", "unixgram"…), or to the local daemon when both are empty.
func NewSyslogWitness(network, addr string) (*SyslogWitness, error) {
	w, err := syslog.Dial(network, addr, syslog.LOG_NOTICE|syslog.LOG_AUTH, "mima-audit")
	if err != nil {
		return nil, fmt.Errorf("audit: syslog witness: %w", err)
	}
	return &SyslogWitness{w: w}, nil
}

// Witness sends entry; the writer reconnects by itself after a failure.
func (s *SyslogWitness) Witness(_ context.Context, entry []byte) error {
	if err := s.w.Notice(string(entry)); err != nil {
		return fmt.Errorf("audit: syslog witness: %w", err)
	}
	return nil
}
