package engine

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/netslirp"
)

// linked is one --link target on the default bridge, resolved at start.
type linked struct {
	alias, name, hostname string
	ip                    string
	env                   []string
	exposed               network.PortSet
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
		lk := linked{alias: alias, name: strings.TrimPrefix(t.rec.Name, "/"), hostname: t.rec.Config.Hostname, env: t.rec.Config.Env, exposed: maps.Clone(t.rec.Config.ExposedPorts)}
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
	self := c.rec.Name
	c.mu.Unlock()
	var env []string
	for _, l := range links {
		env = append(env, linkEnvVars(l.ip, self+"/"+l.alias, l.env, l.exposed)...)
	}
	return env
}

// linkEnvVars are the variables of one link named name ("/web/db": the
// prefix is the last element, upper-cased, with "-" as "_") to a container
// at ip that exposes ports and has the variables env. It is Docker's
// daemon/links EnvVars, with its order: the ports sorted TCP first, then
// by protocol name and number, ALIAS_PORT for the first, four variables
// for each, a _START/_END summary after each run of consecutive ports,
// then ALIAS_NAME and ALIAS_ENV_X for each variable but HOME and PATH.
func linkEnvVars(ip, name string, env []string, ports network.PortSet) []string {
	_, n := path.Split(name)
	alias := strings.ReplaceAll(strings.ToUpper(n), "-", "_")
	sorted := slices.SortedFunc(maps.Keys(ports), tcpFirst)

	out := make([]string, 0, 1+len(sorted)*4)
	var start, end network.Port
	for i, p := range sorted {
		if i == 0 {
			start, end = p, p
			out = append(out, fmt.Sprintf("%s_PORT=%s://%s:%d", alias, p.Proto(), ip, p.Num()))
		}
		prefix := fmt.Sprintf("%s_PORT_%d_%s", alias, p.Num(), strings.ToUpper(string(p.Proto())))
		out = append(out,
			fmt.Sprintf("%s=%s://%s:%d", prefix, p.Proto(), ip, p.Num()),
			fmt.Sprintf("%s_ADDR=%s", prefix, ip),
			fmt.Sprintf("%s_PORT=%d", prefix, p.Num()),
			fmt.Sprintf("%s_PROTO=%s", prefix, p.Proto()))
		// A port that continues the run extends it; the run's summary is
		// written when it ends, after the variables of the port that ends
		// it (as Docker does), or at the last port.
		if p.Num() == end.Num()+1 && p.Proto() == end.Proto() {
			end = p
			if i < len(sorted)-1 {
				continue
			}
		}
		if end != start {
			prefix = fmt.Sprintf("%s_PORT_%d_%s", alias, start.Num(), strings.ToUpper(string(start.Proto())))
			out = append(out,
				fmt.Sprintf("%s_START=%s://%s:%d", prefix, start.Proto(), ip, start.Num()),
				fmt.Sprintf("%s_PORT_START=%d", prefix, start.Num()),
				fmt.Sprintf("%s_END=%s://%s:%d", prefix, end.Proto(), ip, end.Num()),
				fmt.Sprintf("%s_PORT_END=%d", prefix, end.Num()))
		}
		start, end = p, p
	}

	out = append(out, fmt.Sprintf("%s_NAME=%s", alias, name))
	for _, v := range env {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "HOME" || k == "PATH" {
			continue
		}
		out = append(out, fmt.Sprintf("%s_ENV_%s=%s", alias, k, val))
	}
	return out
}

// tcpFirst orders ports TCP first, then by protocol name, then by number.
func tcpFirst(a, b network.Port) int {
	switch {
	case a.Proto() == b.Proto():
		return cmp.Compare(a.Num(), b.Num())
	case a.Proto() == network.TCP:
		return -1
	case b.Proto() == network.TCP:
		return 1
	}
	return cmp.Compare(a.Proto(), b.Proto())
}
