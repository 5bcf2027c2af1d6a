package compliance

import (
	_ "embed"
	"html/template"
	"io"
)

//go:embed report.html
var reportHTML string

var reportTemplate = template.Must(template.New("report").Parse(reportHTML))

// WriteHTML writes rep as a standalone printable HTML document (print it
// to PDF from a browser for the assessor).
func WriteHTML(w io.Writer, rep Report) error {
	return reportTemplate.Execute(w, rep)
}
