package console

import "strconv"

func v2xPage(q *req) ([]section, error) {
	names, err := q.api.V2X().ListDeployments(q.ctx())
	if err != nil {
		return nil, err
	}
	t := &table{Head: []string{"Deployment", "Profile", "Period", "Certificates per period", "Created"}}
	for _, n := range names {
		d, err := q.api.V2X().GetDeployment(q.ctx(), n)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, []cell{{Text: d.Name}, {Text: d.Profile}, {Text: d.Period}, {Text: strconv.Itoa(d.CertsPerPeriod)}, {Text: when(d.Created)}})
	}
	return []section{{Title: "V2X deployments", Table: t}}, nil
}
