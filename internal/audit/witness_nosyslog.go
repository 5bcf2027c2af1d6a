//go:build windows || plan9

package audit

import (
	"context"
	"errors"
)

// errNoSyslog is returned where log/syslog does not exist.
var errNoSyslog = errors.New("audit: syslog witnesses are not available on this platform")

// SyslogWitness is not available where log/syslog is missing.
type SyslogWitness struct{}

// NewSyslogWitness fails: this platform has no log/syslog.
func NewSyslogWitness(network, addr string) (*SyslogWitness, error) { return nil, errNoSyslog }

// Witness fails: this platform has no log/syslog.
func (*SyslogWitness) Witness(context.Context, []byte) error { return errNoSyslog }
