package api

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOpenAPIMatchesRoutes keeps openapi.yaml and the route table in step:
// a route without a description, or a description without a route, fails.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var served []string
	for _, rt := range New(Services{}, nil).routes {
		served = append(served, rt.method+" "+strings.ReplaceAll(rt.pattern, "...}", "}"))
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.yaml describes %s, which no route serves", d)
		}
	}
}

func TestOperationsAreTenantRoutes(t *testing.T) {
	ops := Operations()
	if !slices.Contains(ops, "tokens.create") || slices.Contains(ops, "sys.seal") {
		t.Fatalf("operations: %v", ops)
	}
}

// TestOpenAPIDocumentsCBOR: exactly the routes that take application/cbor
// bodies list it among their request bodies in openapi.yaml.
func TestOpenAPIDocumentsCBOR(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range New(Services{}, nil).routes {
		op, _ := doc.Paths[strings.ReplaceAll(rt.pattern, "...}", "}")][strings.ToLower(rt.method)].(map[string]any)
		body, _ := op["requestBody"].(map[string]any)
		content, _ := body["content"].(map[string]any)
		if _, documented := content[mediaCBOR]; documented != rt.cbor {
			t.Errorf("%s %s: takes CBOR %v, openapi.yaml documents it %v", rt.method, rt.pattern, rt.cbor, documented)
		}
	}
}
