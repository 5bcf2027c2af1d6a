package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mimacrypto/mima/sdk"
	"github.com/mimacrypto/mima/sdk/mediacrypt"
)

// mediaCommand groups keyframe encryption of video streams.
func (e *env) mediaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "media", Short: "Keyframe encryption of H.264/H.265 elementary streams (SM4-CTR under a mima data key)"}
	cmd.AddCommand(e.mediaEncryptCommand(), e.mediaDecryptCommand())
	return cmd
}

// mediaFlags are the stream files and codec of media commands.
type mediaFlags struct{ in, out, codec string }

func (f *mediaFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.in, "in", "", "the Annex-B stream to read")
	cmd.Flags().StringVar(&f.out, "out", "", "the stream to write")
	cmd.Flags().StringVar(&f.codec, "codec", "", "h264 or h265 (default: from the file name, .h265 and .hevc are h265)")
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

// run streams f.in through fn into f.out, which is removed on failure.
func (f *mediaFlags) run(fn func(out *os.File, in *os.File) error) error {
	in, err := os.Open(f.in)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(f.out)
	if err != nil {
		return err
	}
	err = fn(out, in)
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
			return f.run(func(out, in *os.File) error {
				st, err := mediacrypt.Encrypt(out, in, mediacrypt.DataKey{Plaintext: dk.Plaintext, Key: key, Wrapped: dk.Ciphertext}, rand.Reader, opt)
				if err == nil {
					fmt.Fprintf(e.errOut, "%d GOPs, %d slices (%d bytes) encrypted, %d slices before the first keyframe left clear\n", st.GOPs, st.Encrypted, st.Bytes, st.Clear)
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
			unwrap := func(ctx context.Context, key, wrapped string) ([]byte, error) {
				r, err := c.Crypto().Decrypt(ctx, key, sdk.DecryptRequest{Ciphertext: wrapped})
				return r.Plaintext, err
			}
			return f.run(func(out, in *os.File) error {
				st, err := mediacrypt.Decrypt(ctx, out, in, unwrap, codec)
				if err == nil && st.Clear > 0 {
					fmt.Fprintf(e.errOut, "warning: %d slices came before the first key SEI and were not decrypted or checked\n", st.Clear)
				}
				return err
			})
		}),
	}
	f.bind(cmd)
	return cmd
}
