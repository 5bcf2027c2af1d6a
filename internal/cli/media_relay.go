package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/mediacrypt"
)

// tsPerDatagram is the number of TS packets in a UDP datagram, as ffmpeg
// and most IPTV equipment send them (1316 bytes).
const tsPerDatagram = 7

// relayStream is the TS or RTP side of a relay.
type relayStream interface {
	// datagram takes one datagram received.
	datagram(b []byte) error
	// close ends the stream and sends what is held.
	close() error
	stats() mediacrypt.Stats
	setDataKey(mediacrypt.DataKey) error
}

// relayCounters count datagrams in and out, and those refused.
type relayCounters struct{ in, out, bad int }

// tsRelay relays MPEG-TS over UDP: whole packets in each datagram, sent
// on in datagrams of up to tsPerDatagram packets.
type tsRelay struct {
	w    *mediacrypt.TSWriter
	conn net.Conn
	buf  []byte
	n    *relayCounters
}

func (r *tsRelay) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	if len(r.buf) >= tsPerDatagram*mediacrypt.PacketSize {
		return len(p), r.flush()
	}
	return len(p), nil
}

// flush sends the packets held, tsPerDatagram to a datagram.
func (r *tsRelay) flush() error {
	for len(r.buf) > 0 {
		n := min(len(r.buf), tsPerDatagram*mediacrypt.PacketSize)
		if _, err := r.conn.Write(r.buf[:n]); err != nil {
			return err
		}
		r.n.out++
		r.buf = r.buf[n:]
	}
	r.buf = r.buf[:0]
	return nil
}

func (r *tsRelay) datagram(b []byte) error {
	if len(b)%mediacrypt.PacketSize != 0 || !mediacrypt.IsTS(b) {
		r.n.bad++
		return nil
	}
	if _, err := r.w.Write(b); err != nil {
		return err
	}
	return r.flush()
}

func (r *tsRelay) close() error {
	if err := r.w.Close(); err != nil {
		return err
	}
	return r.flush()
}

func (r *tsRelay) stats() mediacrypt.Stats                { return r.w.Stats() }
func (r *tsRelay) setDataKey(dk mediacrypt.DataKey) error { return r.w.SetDataKey(dk) }

// rtpRelay relays RTP/H.264, a packet a datagram.
type rtpRelay struct {
	w *mediacrypt.RTPWriter
	n *relayCounters
}

func (r *rtpRelay) datagram(b []byte) error {
	if err := r.w.Packet(b); errors.Is(err, mediacrypt.ErrRTP) {
		r.n.bad++
	} else if err != nil {
		return err
	}
	return nil
}

func (r *rtpRelay) close() error                           { return r.w.Close() }
func (r *rtpRelay) stats() mediacrypt.Stats                { return r.w.Stats() }
func (r *rtpRelay) setDataKey(dk mediacrypt.DataKey) error { return r.w.SetDataKey(dk) }

func (e *env) mediaRelayCommand() *cobra.Command {
	var key, listen, upstream, format string
	var rotate time.Duration
	var mtu int
	var opt mediacrypt.Options
	cmd := &cobra.Command{
		Use:   "relay --key K --listen 127.0.0.1:P --upstream HOST:PORT [--format ts|rtp]",
		Short: "Encrypt the keyframes of a live MPEG-TS or RTP/H.264 stream over UDP on the fly and send it on",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			if format != "ts" && format != "rtp" {
				return fmt.Errorf("--format is ts or rtp, not %q", format)
			}
			fetch := func(ctx context.Context) (mediacrypt.DataKey, error) {
				dk, err := c.Crypto().DataKey(ctx, key, sdk.DataKeyRequest{})
				return mediacrypt.DataKey{Plaintext: dk.Plaintext, Key: key, Wrapped: dk.Ciphertext}, err
			}
			dk, err := fetch(ctx)
			if err != nil {
				return err
			}
			in, err := net.ListenPacket("udp", listen)
			if err != nil {
				return err
			}
			defer in.Close()
			if uc, ok := in.(*net.UDPConn); ok {
				_ = uc.SetReadBuffer(4 << 20) // the kernel caps it at net.core.rmem_max
			}
			out, err := net.Dial("udp", upstream)
			if err != nil {
				return err
			}
			defer out.Close()
			var n relayCounters
			var s relayStream
			if format == "ts" {
				r := &tsRelay{conn: out, n: &n}
				if r.w, err = mediacrypt.NewTSEncrypter(r, dk, rand.Reader, opt); err != nil {
					return err
				}
				s = r
			} else {
				send := func(p []byte) error { n.out++; _, err := out.Write(p); return err }
				w, err := mediacrypt.NewRTPEncrypter(send, mtu, dk, rand.Reader, opt)
				if err != nil {
					return err
				}
				s = &rtpRelay{w: w, n: &n}
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			keys := rotateKeys(ctx, rotate, fetch, e.errOut)
			fmt.Fprintf(e.out, "mima media relay: %s to %s, keyframes encrypted under a data key of %s\n", format, upstream, key)
			fmt.Fprintf(e.out, "mima media relay listening on %s\n", in.LocalAddr())
			err = relay(ctx, in, s, &n, keys)
			st := s.stats()
			fmt.Fprintf(e.errOut, "%d datagrams in, %d out, %d refused; %d video units (PES packets or access units), %d dropped as damaged; %d GOPs, %d slices encrypted\n",
				n.in, n.out, n.bad, st.PES, st.Dropped, st.GOPs, st.Encrypted)
			return err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "the sm4 key that wraps the stream's data keys")
	f.StringVar(&listen, "listen", "", "the UDP address to receive the stream on")
	f.StringVar(&upstream, "upstream", "", "the UDP address to send the encrypted stream to")
	f.StringVar(&format, "format", "ts", "ts (MPEG-TS, whole 188-byte packets a datagram) or rtp (RTP/H.264, RFC 6184)")
	f.DurationVar(&rotate, "rotate", 0, "fetch a new data key from mima this often; it takes effect at the next keyframe (0: one key)")
	f.IntVar(&mtu, "mtu", mediacrypt.DefaultMTU, "largest RTP packet sent (rtp)")
	f.IntVar(&opt.EveryN, "every", 0, "also encrypt every Nth non-keyframe slice (0: keyframes only)")
	f.IntVar(&opt.ClearBytes, "clear-bytes", 0, fmt.Sprintf("bytes of each slice left clear after the NAL header (default %d)", mediacrypt.DefaultClearBytes))
	f.BoolVar(&opt.Integrity, "integrity", false, "add an HMAC-SM3 of each GOP")
	for _, name := range []string{"key", "listen", "upstream"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// rotateKeys fetches a new data key every interval (none if 0) until ctx
// ends, and hands it over on the channel; a failed fetch is reported and
// the current key stays.
func rotateKeys(ctx context.Context, every time.Duration, fetch func(context.Context) (mediacrypt.DataKey, error), errOut io.Writer) <-chan mediacrypt.DataKey {
	keys := make(chan mediacrypt.DataKey, 1)
	if every <= 0 {
		return keys
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			dk, err := fetch(ctx)
			if err != nil {
				fmt.Fprintf(errOut, "warning: a new data key: %v\n", err)
				continue
			}
			select {
			case keys <- dk:
			case <-ctx.Done():
				return
			}
		}
	}()
	return keys
}

// relay receives datagrams until ctx ends, hands each to s, then takes
// the datagrams already queued on the socket and closes s. A datagram
// never waits for another: loss and reordering only drop units.
func relay(ctx context.Context, in net.PacketConn, s relayStream, n *relayCounters, keys <-chan mediacrypt.DataKey) error {
	go func() {
		<-ctx.Done()
		_ = in.SetReadDeadline(time.Now())
	}()
	buf := make([]byte, 1<<16)
	handle := func(b []byte) error {
		n.in++
		return s.datagram(b)
	}
	for {
		k, _, err := in.ReadFrom(buf)
		if err != nil {
			if ctx.Err() == nil {
				return err
			}
			break
		}
		if err := handle(buf[:k]); err != nil {
			return err
		}
		select {
		case dk := <-keys:
			err = s.setDataKey(dk)
			clear(dk.Plaintext)
			if err != nil {
				return err
			}
		default:
		}
	}
	if err := in.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	if err := drainQueued(in, buf, handle); err != nil {
		return err
	}
	return s.close()
}
