package opts

import (
	"fmt"
	"strings"
)

// ipcSysctls are the IPC namespace's sysctls besides fs.mqueue.*.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// ValidateSysctlFlag checks a --sysctl NAME=VALUE as the docker CLI does:
// the IPC sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*)
// and net.*; anything else is "sysctl 'NAME=VALUE' is not allowed".
func ValidateSysctlFlag(val string) (name, value string, err error) {
	k, v, ok := strings.Cut(val, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("sysctl '%s' is not allowed", val)
	}
	if ipcSysctls[k] || strings.HasPrefix(k, "net.") || strings.HasPrefix(k, "fs.mqueue.") {
		return k, v, nil
	}
	return "", "", fmt.Errorf("sysctl '%s' is not allowed", val)
}

// Namespaces says which namespaces a container has of its own.
type Namespaces struct {
	IPC, Net, UTS, User bool
}

// CheckSysctl is runc's check of a container's sysctl (libcontainer/
// configs/validate), which Docker's API answers with: only sysctls of a
// namespace the container has of its own. name may use dots or slashes
// ("net/ipv4/ip_forward"). Beyond runc, a name must be a path below
// /proc/sys: no empty, "." or ".." part and no control character.
func CheckSysctl(name string, ns Namespaces) error {
	s := SysctlDots(name)
	if err := NoControl("sysctl", s); err != nil {
		return err
	}
	// Every part between dots and slashes is a name.
	if s == "" || strings.ContainsAny(s[:1]+s[len(s)-1:], "./") ||
		strings.Contains(s, "..") || strings.Contains(s, "//") || strings.Contains(s, "./") || strings.Contains(s, "/.") {
		return fmt.Errorf("invalid sysctl %q", name)
	}
	switch {
	case ipcSysctls[s] || strings.HasPrefix(s, "fs.mqueue."):
		if !ns.IPC {
			return fmt.Errorf("sysctl %q is not allowed in the hosts ipc namespace", s)
		}
		return nil
	case strings.HasPrefix(s, "net."):
		if !ns.Net {
			return fmt.Errorf("sysctl %q not allowed in host network namespace", s)
		}
		return nil
	case ns.UTS && s == "kernel.domainname":
		return nil
	case ns.UTS && s == "kernel.hostname":
		return fmt.Errorf("sysctl %q is not allowed as it conflicts with the OCI %q field", s, "hostname")
	case strings.HasPrefix(s, "user."):
		if !ns.User {
			return fmt.Errorf("setting ucounts without a user namespace not allowed: %v", s)
		}
		return nil
	}
	return fmt.Errorf("sysctl %q is not in a separate kernel namespace", s)
}

// SysctlDots is a sysctl's name with dots between its parts, as runc
// reads it: "net/ipv4/conf/eth0.100/forwarding" is
// "net.ipv4.conf.eth0/100.forwarding" (a dot inside a part becomes a
// slash).
func SysctlDots(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}
