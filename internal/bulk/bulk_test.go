package bulk

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
	"github.com/mimacrypto/mima/sdk/fieldcrypt/fieldcrypttest"
)

const fieldsYAML = `fields:
- {column: phone, key: pii, mode: fpe, format: phone}
- {column: name, key: pii, mode: blind-index, mask: name}
- {column: email, key: pii, mode: deterministic}
- {column: note, key: pii, mode: randomized}
`

func testConfig(t *testing.T) *fieldcrypt.Config {
	t.Helper()
	c, err := fieldcrypt.ParseConfig([]byte(fieldsYAML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeInput writes a CSV of n rows and returns its path.
func writeInput(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,phone,name,email,note\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,138%08d,张%d,u%d@example.cn,\"note, %d\"\n", i, i*7919, i, i%7, i)
	}
	p := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func run(t *testing.T, j *Job, in, out string) error {
	t.Helper()
	return j.RunFile(context.Background(), CSV, in, out)
}

// TestResumeAfterStopAtEveryPoint stops an encryption at every point a
// crash or Ctrl-C can leave it (after a batch is written but before its
// checkpoint, and after the checkpoint), in turn and twice in one run,
// then runs it again to the end: the output holds every input row exactly
// once, each encrypted once, in order.
func TestResumeAfterStopAtEveryPoint(t *testing.T) {
	const rows, batch = 23, 5 // 5 batches, 10 stop points
	ks := &fieldcrypttest.Keys{Seed: "s"}
	codec := fieldcrypt.New(ks, fieldcrypt.Limits{}, nil)
	cfg := testConfig(t)
	dir := t.TempDir()
	in := writeInput(t, dir, rows)
	want := readCSV(t, in)
	reference := filepath.Join(dir, "reference.csv")
	if err := run(t, &Job{Op: Encrypt, Codec: codec, From: cfg, Batch: batch, Checkpoint: filepath.Join(dir, "ref.ckpt")}, in, reference); err != nil {
		t.Fatal(err)
	}
	ref := readCSV(t, reference)
	for first := 1; first <= 10; first++ {
		for _, second := range []int{0, first + 1, first + 3} {
			t.Run(fmt.Sprintf("stop at %d then %d", first, second), func(t *testing.T) {
				out, ckpt := filepath.Join(dir, "out.csv"), filepath.Join(dir, "job.ckpt")
				os.Remove(out)
				os.Remove(ckpt)
				calls := 0
				stops := []int{first, second}
				hook := func(string) error {
					calls++
					if slices.Contains(stops, calls) {
						return ErrStopped
					}
					return nil
				}
				job := &Job{Op: Encrypt, Codec: codec, From: cfg, Batch: batch, Workers: 2, Checkpoint: ckpt, hook: hook}
				for attempt := 0; ; attempt++ {
					err := run(t, job, in, out)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrStopped) || attempt > 3 {
						t.Fatal(err)
					}
				}
				got := readCSV(t, out)
				if len(got) != len(ref) {
					t.Fatalf("%d output rows, want %d", len(got), len(ref))
				}
				for i := range got {
					// FPE, deterministic and index columns match an
					// uninterrupted run exactly; randomized ones differ.
					for _, c := range []int{0, 1, 3, 5} {
						if got[i][c] != ref[i][c] {
							t.Fatalf("row %d column %d: %q, want %q", i, c, got[i][c], ref[i][c])
						}
					}
				}
				checkDecrypts(t, codec, cfg, out, want)
				if cp, _ := ReadCheckpoint(ckpt); !cp.Done || cp.Rows != rows {
					t.Errorf("final checkpoint %+v", cp)
				}
			})
		}
	}
}

// checkDecrypts decrypts out with a decrypt job and compares it to want,
// the input: a row encrypted twice would not come back.
func checkDecrypts(t *testing.T, codec *fieldcrypt.Codec, cfg *fieldcrypt.Config, out string, want [][]string) {
	t.Helper()
	dir := t.TempDir()
	back := filepath.Join(dir, "back.csv")
	if err := run(t, &Job{Op: Decrypt, Codec: codec, From: cfg, Batch: 7, Checkpoint: filepath.Join(dir, "d.ckpt")}, out, back); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, back)
	for i := range want {
		if !slices.Equal(got[i][:5], want[i]) {
			t.Fatalf("row %d decrypts to %q, want %q", i, got[i][:5], want[i])
		}
	}
}

// TestReencryptMaskAndJSONL: a table moves to fresh keys (reencrypt),
// masks, and JSON Lines keeps other fields (numbers exact).
func TestReencryptMaskAndJSONL(t *testing.T) {
	ctx := context.Background()
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	cfg := testConfig(t)
	to, err := fieldcrypt.ParseConfig([]byte(strings.ReplaceAll(fieldsYAML, "key: pii, mode: deterministic", "key: pii, mode: deterministic, version: 2")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"id":12345678901234567890,"phone":"13812345678","name":"张三","email":"a@b.cn","note":"x"}`+"\n\n"+`{"id":2,"phone":"13900001111","name":"李四","email":"c@d.cn"}`+"\n"), 0o600)
	step := func(op Op, from, to *fieldcrypt.Config, src, dst string) {
		t.Helper()
		j := &Job{Op: op, Codec: codec, From: from, To: to, Checkpoint: dst + ".ckpt"}
		if err := j.RunFile(ctx, JSONL, src, dst); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	enc, re, back, masked := filepath.Join(dir, "enc"), filepath.Join(dir, "re"), filepath.Join(dir, "back"), filepath.Join(dir, "masked")
	step(Encrypt, cfg, nil, in, enc)
	step(ReEncrypt, cfg, to, enc, re)
	step(Decrypt, to, nil, re, back)
	step(MaskOp, cfg, nil, in, masked)
	e, _ := os.ReadFile(enc)
	r, _ := os.ReadFile(re)
	b, _ := os.ReadFile(back)
	m, _ := os.ReadFile(masked)
	if strings.Contains(string(e), "a@b.cn") || string(e) == string(r) {
		t.Errorf("encrypted or re-encrypted output is wrong:\n%s\n%s", e, r)
	}
	for _, w := range []string{`"email":"a@b.cn"`, `"name":"张三"`, `"phone":"13812345678"`, `"id":12345678901234567890`, `"note":"x"`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("the round trip lost %s:\n%s", w, b)
		}
	}
	if !strings.Contains(string(m), `"name":"张*"`) || strings.Contains(string(m), "张三") {
		t.Errorf("masked:\n%s", m)
	}
	if err := (&Job{Op: MaskOp, Codec: codec, From: to, Checkpoint: filepath.Join(dir, "x")}).RunFile(ctx, JSONL, in, masked+"2"); err != nil {
		t.Error(err)
	}
	unmasked, _ := fieldcrypt.ParseConfig([]byte("fields: [{column: note, key: pii, mode: randomized}]"))
	if err := (&Job{Op: MaskOp, Codec: codec, From: unmasked, Checkpoint: filepath.Join(dir, "y")}).RunFile(ctx, JSONL, in, masked+"3"); err == nil {
		t.Error("mask ran with no field to mask")
	}
}

// TestToConfigMustNameTheSameColumns: a reencrypt whose fields file to
// move to names other columns is refused before it reads a row.
func TestToConfigMustNameTheSameColumns(t *testing.T) {
	codec := fieldcrypt.New(&fieldcrypttest.Keys{Seed: "s"}, fieldcrypt.Limits{}, nil)
	dir := t.TempDir()
	in := writeInput(t, dir, 3)
	for _, y := range []string{"fields: [{column: phone, key: pii, mode: fpe}]", strings.Replace(fieldsYAML, "column: note", "column: memo", 1)} {
		to, err := fieldcrypt.ParseConfig([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		j := &Job{Op: ReEncrypt, Codec: codec, From: testConfig(t), To: to, Checkpoint: filepath.Join(dir, "ckpt")}
		if err := run(t, j, in, filepath.Join(dir, "out.csv")); err == nil || !strings.Contains(err.Error(), "same columns") {
			t.Errorf("to %s: %v", y, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "out.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused job wrote its output: %v", err)
		}
	}
}
