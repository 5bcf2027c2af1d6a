package console

import (
	"fmt"
	"strconv"
)

func (c *Console) switchTenant(q *req) ([]section, error) {
	c.sessions.setTenant(q.id, q.r.PostFormValue("tenant"))
	return nil, done("/ui/status", "tenant switched")
}

func statusPage(q *req) ([]section, error) {
	h, err := q.api.Sys().Health(q.ctx())
	if err != nil {
		return nil, err
	}
	secs := []section{{Title: "Seal status", Table: kv(
		[2]string{"Initialized", strconv.FormatBool(h.Initialized)},
		[2]string{"Sealed", strconv.FormatBool(h.Sealed)},
		[2]string{"Key shares", fmt.Sprintf("%d (threshold %d)", h.Shares, h.Threshold)},
		[2]string{"Unseal progress", fmt.Sprintf("%d/%d", h.Progress, h.Threshold)},
		[2]string{"Unattended unseal", strconv.FormatBool(h.Unattended)},
		[2]string{"Cluster ID", h.ClusterID},
		[2]string{"Version", h.Version},
	)}}
	if q.sess.root {
		if ks, err := q.api.Sys().KeyringStatus(q.ctx()); err == nil {
			secs = append(secs, section{Title: "Barrier keyring", Table: kv(
				[2]string{"Term", strconv.Itoa(int(ks.Term))}, [2]string{"Installed", when(ks.InstallTime)})})
		}
		tenants, err := q.api.Auth().ListTenants(q.ctx())
		if err != nil {
			return nil, err
		}
		opts := make([]string, len(tenants))
		for i, t := range tenants {
			opts[i] = t.Name
		}
		secs = append(secs, section{Title: "Acting in tenant", Form: &form{Action: "/ui/tenant", Method: "POST", Submit: "Switch",
			Fields: []field{{Name: "tenant", Label: "Tenant", Type: "select", Value: q.sess.tenant, Options: opts}}}})
	}
	return secs, nil
}
