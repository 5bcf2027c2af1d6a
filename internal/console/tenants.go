package console

func tenantsPage(q *req) ([]section, error) {
	tenants, err := q.api.Auth().ListTenants(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Name", "Created"}}
	for _, tn := range tenants {
		t.Rows = append(t.Rows, []cell{{Text: tn.Name}, {Text: when(tn.CreatedAt)}})
	}
	return []section{{Title: "Tenants", Table: t}, {Title: "Create a tenant", Form: &form{Action: "/ui/tenants", Method: "POST", Submit: "Create",
		Fields: []field{{Name: "name", Label: "Name", Type: "text"}}}}}, nil
}

func createTenant(q *req) ([]section, error) {
	res, err := q.api.Auth().CreateTenant(q.ctx(), q.r.PostFormValue("name"))
	if err != nil {
		secs, _ := tenantsPage(q)
		return secs, err
	}
	return []section{{Title: "Tenant created", Note: "The admin token of the tenant is shown once; hand it over now.",
		Pre: res.Token}}, nil
}
