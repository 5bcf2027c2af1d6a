package compliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned when no Chromium is installed to print with.
var ErrNoChromium = errors.New("printing to PDF needs Chromium, which is not installed: install Debian's chromium package (apt-get install chromium)")

// chromiumNames are the names Chromium's program goes by.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"}

// Chromium returns the path of the installed Chromium, or ErrNoChromium.
func Chromium() (string, error) {
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// NewBrowser starts a headless Chromium and returns a context whose
// chromedp actions run in a tab of it; cancel stops it. The console's
// browser test drives the same browser.
func NewBrowser(ctx context.Context, opts ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc, error) {
	exe, err := Chromium()
	if err != nil {
		return nil, nil, err
	}
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe))
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root.
		all = append(all, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(all, opts...)...)
	tab, cancelTab := chromedp.NewContext(alloc)
	return tab, func() { cancelTab(); cancelAlloc() }, nil
}

// WritePDF writes rep as an A4 PDF: the HTML report printed by headless
// Chromium. Without Chromium it returns ErrNoChromium.
func WritePDF(ctx context.Context, w io.Writer, rep Report) error {
	var page bytes.Buffer
	if err := WriteHTML(&page, rep); err != nil {
		return err
	}
	tab, cancel, err := NewBrowser(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate("data:text/html;base64,"+base64.StdEncoding.EncodeToString(page.Bytes()))); err != nil {
		return fmt.Errorf("compliance: opening the report in Chromium: %w", err)
	}
	pdf, err := chromedp.Run(tab, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFMargin(0.5), chromedp.PDFPrintBackground()))
	if err != nil {
		return fmt.Errorf("compliance: printing the report to PDF: %w", err)
	}
	_, err = w.Write(pdf)
	return err
}
