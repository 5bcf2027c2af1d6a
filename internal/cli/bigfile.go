package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/term"

	"github.com/mimacrypto/mima/sdk"
)

// localHashThreshold is the size above which sign and verify hash the
// input here and send the 32-byte digest: a message travels base64 in a
// JSON body, which the server caps (4 MiB by default).
const localHashThreshold = 1 << 20

// input is a command's input: its first bytes, the rest of the stream and
// its size when known (-1 for a pipe).
type input struct {
	head []byte
	rest io.Reader
	size int64
	io.Closer
}

// big reports whether the input is over localHashThreshold.
func (in *input) big() bool { return len(in.head) > localHashThreshold }

// all is the whole input as a stream, head first.
func (in *input) all() io.Reader { return io.MultiReader(bytes.NewReader(in.head), in.rest) }

// openInput opens --in and reads up to localHashThreshold+1 bytes of it.
func (e *env) openInput(f *ioFlags) (*input, error) {
	r, err := f.open(e)
	if err != nil {
		return nil, err
	}
	in := &input{rest: r, size: fileSize(r), Closer: r}
	if in.head, err = io.ReadAll(io.LimitReader(r, localHashThreshold+1)); err != nil {
		r.Close()
		return nil, err
	}
	return in, nil
}

// fileSize is the size of r when it is a regular file, else -1.
func fileSize(r io.Reader) int64 {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

// publicKey fetches and parses the SM2 public key of a version of key.
func publicKey(ctx context.Context, c *sdk.Client, key string, version int) (*ecdsa.PublicKey, error) {
	text, err := c.Keys().PublicKeyPEM(ctx, key, version)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, fmt.Errorf("the server sent no PEM public key for version %d of %s", version, key)
	}
	pub, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key of version %d of %s: %w", version, key, err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ec) {
		return nil, fmt.Errorf("version %d of %s is not an SM2 key", version, key)
	}
	return ec, nil
}

// digests computes e = SM3(Z_A || M) of the input for each version of key,
// in one pass: Z_A binds uid (default 1234567812345678) and the version's
// public key (GB/T 32918.2-2016 section 5.5).
func (e *env) digests(ctx context.Context, c *sdk.Client, key, uid string, versions []int, in *input) (map[int][]byte, error) {
	hashers := make(map[int]hash.Hash, len(versions))
	writers := make([]io.Writer, 0, len(versions))
	for _, v := range versions {
		pub, err := publicKey(ctx, c, key, v)
		if err != nil {
			return nil, err
		}
		h, err := sm2.NewHashWithUserID(pub, optBytes(uid))
		if err != nil {
			return nil, err
		}
		hashers[v] = h
		writers = append(writers, h)
	}
	if _, err := io.Copy(io.MultiWriter(writers...), e.progress("hashing", in.size, in.all())); err != nil {
		return nil, err
	}
	out := make(map[int][]byte, len(hashers))
	for v, h := range hashers {
		out[v] = h.Sum(nil)
	}
	return out, nil
}

// signBig signs a big input by its digest, computed here for the version
// that signs: req.Version, or the key's latest.
func (e *env) signBig(ctx context.Context, c *sdk.Client, key string, req sdk.SignRequest, in *input) (sdk.SignResult, error) {
	v := req.Version
	if v == 0 {
		k, err := c.Keys().Get(ctx, key)
		if err != nil {
			return sdk.SignResult{}, err
		}
		v = k.LatestVersion
	}
	d, err := e.digests(ctx, c, key, req.UID, []int{v}, in)
	if err != nil {
		return sdk.SignResult{}, err
	}
	return c.Crypto().Sign(ctx, key, sdk.SignRequest{Input: d[v], Prehashed: true, Version: v})
}

// verifyBig checks a signature over a big input by its digests: for
// req.Version, or for every version from the minimum decryption version
// up, newest first, as the server does for a message.
func (e *env) verifyBig(ctx context.Context, c *sdk.Client, key string, req sdk.VerifyRequest, in *input) (sdk.VerifyResult, error) {
	versions := []int{req.Version}
	if req.Version == 0 {
		k, err := c.Keys().Get(ctx, key)
		if err != nil {
			return sdk.VerifyResult{}, err
		}
		versions = versions[:0]
		for v := k.LatestVersion; v >= k.MinDecryptionVersion && v > 0; v-- {
			versions = append(versions, v)
		}
	}
	d, err := e.digests(ctx, c, key, req.UID, versions, in)
	if err != nil {
		return sdk.VerifyResult{}, err
	}
	items := make([]sdk.VerifyRequest, len(versions))
	for i, v := range versions {
		items[i] = sdk.VerifyRequest{Input: d[v], Prehashed: true, Signature: req.Signature, Version: v}
	}
	results, err := c.Crypto().VerifyBatch(ctx, key, items)
	if err != nil {
		return sdk.VerifyResult{}, err
	}
	for i, r := range results {
		if r.Error != nil {
			return sdk.VerifyResult{}, fmt.Errorf("verifying with version %d: %s: %s", versions[i], r.Error.Code, r.Error.Message)
		}
		if r.Valid {
			return sdk.VerifyResult{Valid: true, KeyVersion: versions[i]}, nil
		}
	}
	return sdk.VerifyResult{}, nil
}

// progress wraps r to show how much of it was read on standard error when
// that is a terminal; total is -1 when unknown.
func (e *env) progress(label string, total int64, r io.Reader) io.Reader {
	f, ok := e.errOut.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return r
	}
	return &progressReader{r: r, w: f, label: label, total: total}
}

// progressReader prints "label 42% (21.0 of 50.0 MiB)", or the MiB read
// when the total is unknown, each time the figure changes.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	label string
	total int64
	done  int64
	shown string
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	const mib = 1 << 20
	line := fmt.Sprintf("%s %.0f MiB", p.label, float64(p.done/mib))
	if p.total > 0 {
		line = fmt.Sprintf("%s %d%% (%.1f of %.1f MiB)", p.label, p.done*100/p.total, float64(p.done)/mib, float64(p.total)/mib)
	}
	if line != p.shown {
		fmt.Fprintf(p.w, "\r%s", line)
		p.shown = line
	}
	if err == io.EOF {
		fmt.Fprintln(p.w)
	}
	return n, err
}
