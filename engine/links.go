package engine

import (
	"bytes"
	"fmt"
	"strings"

	dockerlinks "github.com/docker/docker/daemon/links"
	"github.com/docker/go-connections/nat"
	"github.com/skiff-dev/skiff/netslirp"
)

// linked is one --link target on the default bridge, resolved at start.
type linked struct {
	alias, name, hostname string
	ip                    string
	env                   []string
	exposed               map[nat.Port]struct{}
}

// resolveLinks finds the running containers that c links to on the default
// bridge (Docker's legacy links); a missing or stopped one refuses the
// start with Docker's message.
func (e *Engine) resolveLinks(c *ctr) ([]linked, error) {
	c.mu.Lock()
	ls := append([]string(nil), c.rec.HostConfig.Links...)
	mode := modeOf(c.rec.HostConfig)
	self := c.rec.Name
	c.mu.Unlock()
	if mode != netslirp.DefaultBridge || len(ls) == 0 {
		return nil, nil
	}
	var out []linked
	for _, l := range ls {
		target, alias := splitLink(l)
		t, err := e.lookup(target)
		if err != nil {
			return nil, errInvalid(fmt.Errorf("could not get container for %s: No such container: %s", target, target))
		}
		t.mu.Lock()
		running := t.running()
		lk := linked{alias: alias, name: strings.TrimPrefix(t.rec.Name, "/"), hostname: t.rec.Config.Hostname, env: t.rec.Config.Env, exposed: map[nat.Port]struct{}{}}
		for p := range t.rec.Config.ExposedPorts {
			lk.exposed[nat.Port(p.String())] = struct{}{}
		}
		if es := t.rec.Networks[netslirp.DefaultBridge]; es != nil && es.IPAddress.IsValid() {
			lk.ip = es.IPAddress.String()
		}
		tname := t.rec.Name
		t.mu.Unlock()
		if !running {
			return nil, errConflict(fmt.Errorf("Cannot link to a non running container: %s AS %s/%s", tname, self, alias))
		}
		if lk.ip == "" {
			return nil, errConflict(fmt.Errorf("container %s not attached to default bridge network", t.rec.ID))
		}
		out = append(out, lk)
	}
	return out, nil
}

// linkHosts are the /etc/hosts lines of links: "IP\talias name".
func linkHosts(links []linked) []byte {
	var b bytes.Buffer
	for _, l := range links {
		names := l.alias
		if l.alias != l.name {
			names += " " + l.name
		}
		if l.hostname != "" && l.hostname != l.alias && l.hostname != l.name {
			names += " " + l.hostname
		}
		b.WriteString(l.ip + "\t" + names + "\n")
	}
	return b.Bytes()
}

// linkEnv are the variables Docker sets for links: ALIAS_PORT_80_TCP...,
// ALIAS_NAME, ALIAS_ENV_....
func linkEnv(c *ctr, links []linked) []string {
	c.mu.Lock()
	self, ownIP := c.rec.Name, firstIP(c)
	c.mu.Unlock()
	var env []string
	for _, l := range links {
		env = append(env, dockerlinks.EnvVars(ownIP, l.ip, self+"/"+l.alias, l.env, l.exposed)...)
	}
	return env
}
