package compliance

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWritePDF prints the level-3 report with Chromium and reads its
// first page back with poppler (pdftotext, and pdftoppm for a picture in
// the test's artefacts): the title, a Chinese check title and the
// evidence are on it.
func TestWritePDF(t *testing.T) {
	if _, err := Chromium(); err != nil {
		t.Skip("Chromium is not installed; run scripts/test, which installs Debian's chromium")
	}
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; run scripts/test, which installs Debian's poppler-utils", tool)
		}
	}
	rules, err := Level(3)
	if err != nil {
		t.Fatal(err)
	}
	facts := Facts{"keys.non_sm": {Value: 1, Evidence: "1 of 2 keys not of a ShangMi type: legacy-aes"}}
	rep := Evaluate(rules, "acme", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), facts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pdf bytes.Buffer
	if err := WritePDF(ctx, &pdf, rep); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf.Bytes())
	}
	dir := t.ArtifactDir()
	file := filepath.Join(dir, "compliance.pdf")
	if err := os.WriteFile(file, pdf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-f", "1", "-l", "1", "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"GB/T 39786-2021", "第3级", "所有密钥均使用国密算法", "acme", "legacy-aes", "fail"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("page 1 lacks %q:\n%s", want, text)
		}
	}
	if out, err := exec.Command("pdftoppm", "-f", "1", "-l", "1", "-r", "80", "-png", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
}

// TestWritePDFWithoutChromium: without Chromium the error names the
// package to install, and nothing is written.
func TestWritePDFWithoutChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out bytes.Buffer
	err := WritePDF(context.Background(), &out, Report{Level: 3})
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "apt-get install chromium") || out.Len() != 0 {
		t.Fatalf("WritePDF without Chromium: %v, %d bytes", err, out.Len())
	}
}
