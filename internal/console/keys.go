package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mimacrypto/mima/sdk"
)

// keyTypes are the types the create form offers.
var keyTypes = []string{"sm4", "sm2", "hmac-sm3"}

func keysPage(q *req) ([]section, error) {
	f := q.r.URL.Query()
	opts := sdk.ListKeysOptions{After: f.Get("after"), Limit: 20, Type: sdk.KeyType(f.Get("type")), State: sdk.KeyState(f.Get("state"))}
	if tag := f.Get("tag"); tag != "" {
		opts.Tags = []string{tag}
	}
	page, err := findKeys(q, opts, f.Get("name"))
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "Type", "State", "Version", "Next rotation", "Actions"}}
	for _, k := range page.Keys {
		base := "/ui/keys/" + url.PathEscape(k.Name)
		acts := []action{{base + "/rotate", "Rotate"}}
		switch k.State {
		case "enabled":
			acts = append(acts, action{base + "/disable", "Disable"}, action{base + "/delete", "Schedule deletion"})
		case "disabled":
			acts = append(acts, action{base + "/enable", "Enable"}, action{base + "/delete", "Schedule deletion"})
		case "pending_deletion":
			acts = []action{{base + "/cancel-delete", "Cancel deletion"}}
		}
		next := "—"
		if k.NextRotation != nil {
			next = when(*k.NextRotation)
		}
		t.Rows = append(t.Rows, []cell{{Text: k.Name, Href: base}, {Text: string(k.Type)}, {Text: string(k.State)}, {Text: strconv.Itoa(k.LatestVersion)}, {Text: next}, {Actions: acts}})
	}
	secs := []section{
		{Title: "Search", Form: &form{Action: "/ui/keys", Method: "GET", Submit: "Search", Fields: []field{
			{Name: "name", Label: "Name contains", Type: "search", Value: f.Get("name")},
			{Name: "type", Label: "Type", Type: "select", Value: string(opts.Type), Options: append([]string{""}, keyTypes...)},
			{Name: "state", Label: "State", Type: "select", Value: string(opts.State), Options: []string{"", "enabled", "disabled", "pending_deletion"}},
			{Name: "tag", Label: "Tag (name=value)", Type: "text", Value: f.Get("tag")},
		}}},
		{Title: "Keys", Table: t},
	}
	if page.Next != "" {
		v := f
		v.Set("after", page.Next)
		secs = append(secs, section{Note: "More keys follow.", Table: &table{Rows: [][]cell{{{Text: "Next page", Href: "/ui/keys?" + v.Encode()}}}}})
	}
	secs = append(secs, section{Title: "Create a key", Form: &form{Action: "/ui/keys", Method: "POST", Submit: "Create", Fields: []field{
		{Name: "name", Label: "Name", Type: "text"},
		{Name: "type", Label: "Type", Type: "select", Options: keyTypes},
		{Name: "auto_rotate_period", Label: "Rotation period (e.g. 2160h)", Type: "text"},
	}}})
	return secs, nil
}

// findKeys is a page of the keys opts selects whose names contain name
// (ignoring case). The API has no name filter, so with a name it reads
// the list on, page after page, until a page of matches is full; Next is
// the last key read.
func findKeys(q *req, opts sdk.ListKeysOptions, name string) (sdk.KeyList, error) {
	if name == "" {
		return q.api.Keys().List(q.ctx(), opts)
	}
	want, name := opts.Limit, strings.ToLower(name)
	opts.Limit = 100
	var out sdk.KeyList
	for {
		page, err := q.api.Keys().List(q.ctx(), opts)
		if err != nil {
			return sdk.KeyList{}, err
		}
		for i, k := range page.Keys {
			if !strings.Contains(strings.ToLower(k.Name), name) {
				continue
			}
			if out.Keys = append(out.Keys, k); len(out.Keys) == want {
				if i < len(page.Keys)-1 || page.Next != "" {
					out.Next = k.Name
				}
				return out, nil
			}
		}
		if page.Next == "" {
			return out, nil
		}
		opts.After = page.Next
	}
}

func createKey(q *req) ([]section, error) {
	f := q.r.PostForm
	k, err := q.api.Keys().Create(q.ctx(), sdk.CreateKeyRequest{Name: f.Get("name"), Type: sdk.KeyType(f.Get("type")), AutoRotatePeriod: f.Get("auto_rotate_period")})
	if err != nil {
		secs, _ := keysPage(q)
		return secs, err
	}
	return nil, done("/ui/keys", "created key "+k.Name)
}

func keyPage(q *req) ([]section, error) {
	k, err := q.api.Keys().Get(q.ctx(), q.r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	info := kv([2]string{"Name", k.Name}, [2]string{"Type", string(k.Type)}, [2]string{"State", string(k.State)}, [2]string{"Created", when(k.CreatedAt)},
		[2]string{"Rotation period", k.AutoRotatePeriod}, [2]string{"Minimum decryption version", strconv.Itoa(k.MinDecryptionVersion)})
	if k.DeletionDate != nil {
		info.Rows = append(info.Rows, []cell{{Text: "Deletion date"}, {Text: when(*k.DeletionDate)}})
	}
	vers := &table{Head: []string{"Version", "Created", "Imported", "Encryptions"}}
	for _, v := range k.Versions {
		vers.Rows = append(vers.Rows, []cell{{Text: strconv.Itoa(v.Version)}, {Text: when(v.CreatedAt)}, {Text: strconv.FormatBool(v.Imported)}, {Text: strconv.FormatUint(v.Encryptions, 10)}})
	}
	return []section{{Title: "Key", Table: info}, {Title: "Versions", Table: vers},
		{Title: "Usage", Chart: &chart{Src: "/ui/usage.json?by=key&only=" + url.QueryEscape(k.Name), Label: "Calls per minute"}}}, nil
}

func keyAction(q *req) ([]section, error) {
	name, ctx := q.r.PathValue("name"), q.ctx()
	var err error
	switch a := q.r.PathValue("action"); a {
	case "rotate":
		_, err = q.api.Keys().Rotate(ctx, name)
	case "disable":
		_, err = q.api.Keys().Disable(ctx, name)
	case "enable":
		_, err = q.api.Keys().Enable(ctx, name)
	case "delete":
		_, err = q.api.Keys().ScheduleDeletion(ctx, name, 0)
	case "cancel-delete":
		_, err = q.api.Keys().CancelDeletion(ctx, name)
	default:
		return nil, &sdk.APIError{Status: http.StatusNotFound, Code: "route_not_found", Message: "no such key action: " + a}
	}
	if err != nil {
		return nil, err
	}
	return nil, done("/ui/keys", q.r.PathValue("action")+" "+name)
}
