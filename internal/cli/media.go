package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/mediacrypt"
)

// mediaCommand groups keyframe encryption of video streams.
func (e *env) mediaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "media", Short: "Keyframe encryption of H.264/H.265 video, Annex-B or MPEG-TS (SM4-CTR under a mima data key)"}
	cmd.AddCommand(e.mediaEncryptCommand(), e.mediaDecryptCommand(), e.mediaRelayCommand())
	return cmd
}

// mediaFlags are the stream files, container and codec of media commands.
type mediaFlags struct{ in, out, codec, container string }

func (f *mediaFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.in, "in", "", "the stream to read: Annex-B, or MPEG-TS")
	cmd.Flags().StringVar(&f.out, "out", "", "the stream to write")
	cmd.Flags().StringVar(&f.codec, "codec", "", "h264 or h265 of an Annex-B stream (default: from the file name, .h265 and .hevc are h265; MPEG-TS says it in its PMT)")
	cmd.Flags().StringVar(&f.container, "container", "", "annexb or ts (default: ts for a .ts file or one with a sync byte every 188 bytes)")
	_ = cmd.MarkFlagRequired("in")
	_ = cmd.MarkFlagRequired("out")
}

func (f *mediaFlags) parseCodec() (mediacrypt.Codec, error) {
	c := f.codec
	if c == "" {
		c = "h264"
		if ext := strings.ToLower(filepath.Ext(f.in)); ext == ".h265" || ext == ".hevc" || ext == ".265" {
			c = "h265"
		}
	}
	return mediacrypt.ParseCodec(c)
}

// run streams f.in through fn into f.out, which is removed on failure;
// ts says whether f.in is MPEG-TS.
func (f *mediaFlags) run(fn func(out io.Writer, in io.Reader, ts bool) error) error {
	file, err := os.Open(f.in)
	if err != nil {
		return err
	}
	defer file.Close()
	in := bufio.NewReaderSize(file, 1<<16)
	var ts bool
	switch f.container {
	case "ts":
		ts = true
	case "annexb":
	case "":
		head, _ := in.Peek(5 * mediacrypt.PacketSize)
		ts = strings.EqualFold(filepath.Ext(f.in), ".ts") || mediacrypt.IsTS(head)
	default:
		return fmt.Errorf("--container is annexb or ts, not %q", f.container)
	}
	out, err := os.Create(f.out)
	if err != nil {
		return err
	}
	err = fn(out, in, ts)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.out)
	}
	return err
}

func (e *env) mediaEncryptCommand() *cobra.Command {
	var f mediaFlags
	var key string
	var opt mediacrypt.Options
	cmd := &cobra.Command{
		Use:   "encrypt --key K --in in.h264 --out out.h264",
		Short: "Encrypt the keyframes' slice data under a fresh data key of K; the stream stays parseable",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			codec, err := f.parseCodec()
			if err != nil {
				return err
			}
			opt.Codec = codec
			dk, err := c.Crypto().DataKey(ctx, key, sdk.DataKeyRequest{})
			if err != nil {
				return err
			}
			defer clear(dk.Plaintext)
			mdk := mediacrypt.DataKey{Plaintext: dk.Plaintext, Key: key, Wrapped: dk.Ciphertext}
			return f.run(func(out io.Writer, in io.Reader, ts bool) error {
				encrypt := mediacrypt.Encrypt
				if ts {
					encrypt = mediacrypt.EncryptTS
				}
				st, err := encrypt(out, in, mdk, rand.Reader, opt)
				if err == nil {
					fmt.Fprintf(e.errOut, "%d GOPs, %d slices (%d bytes) encrypted, %d slices before the first keyframe left clear\n", st.GOPs, st.Encrypted, st.Bytes, st.Clear)
					warnDropped(e.errOut, st)
				}
				return err
			})
		}),
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&key, "key", "", "the sm4 key that wraps the stream's data key")
	cmd.Flags().IntVar(&opt.EveryN, "every", 0, "also encrypt every Nth non-keyframe slice (0: keyframes only)")
	cmd.Flags().IntVar(&opt.ClearBytes, "clear-bytes", 0, fmt.Sprintf("bytes of each slice left clear after the NAL header (default %d)", mediacrypt.DefaultClearBytes))
	cmd.Flags().BoolVar(&opt.Integrity, "integrity", false, "add an HMAC-SM3 of each GOP, so dropped or altered frames are detected")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func (e *env) mediaDecryptCommand() *cobra.Command {
	var f mediaFlags
	cmd := &cobra.Command{
		Use:   "decrypt --in out.h264 --out back.h264",
		Short: "Decrypt a stream that media encrypt made; mima unwraps its data key",
		Args:  cobra.NoArgs,
		RunE: e.clientRun(func(ctx context.Context, c *sdk.Client, _ []string) error {
			codec, err := f.parseCodec()
			if err != nil {
				return err
			}
			unwrap := mediaUnwrapper(c)
			return f.run(func(out io.Writer, in io.Reader, ts bool) error {
				var st mediacrypt.Stats
				var err error
				if ts {
					st, err = mediacrypt.DecryptTS(ctx, out, in, unwrap)
				} else {
					st, err = mediacrypt.Decrypt(ctx, out, in, unwrap, codec)
				}
				if err == nil && st.Clear > 0 {
					fmt.Fprintf(e.errOut, "warning: %d slices came before the first key SEI and were not decrypted or checked\n", st.Clear)
				}
				if err == nil {
					warnDropped(e.errOut, st)
				}
				return err
			})
		}),
	}
	f.bind(cmd)
	return cmd
}

// mediaUnwrapper unwraps a stream's data keys with mima (decrypt).
func mediaUnwrapper(c *sdk.Client) mediacrypt.Unwrapper {
	return func(ctx context.Context, key, wrapped string) ([]byte, error) {
		r, err := c.Crypto().Decrypt(ctx, key, sdk.DecryptRequest{Ciphertext: wrapped})
		return r.Plaintext, err
	}
}

// warnDropped warns of the video PES packets dropped as damaged.
func warnDropped(w io.Writer, st mediacrypt.Stats) {
	if st.Dropped > 0 {
		fmt.Fprintf(w, "warning: %d of %d video PES packets were damaged (a packet lost or malformed) and dropped\n", st.Dropped, st.PES)
	}
}
