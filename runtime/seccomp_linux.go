package runtime

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// SeccompProfile is the filter a container gets: Docker's default profile
// (which allows more syscalls for the capabilities the container has), or
// the JSON profile given with --security-opt seccomp=..., or none for
// "unconfined" and privileged containers (nil).
func SeccompProfile(profile string, caps []capability.Cap, privileged bool) (*specs.LinuxSeccomp, error) {
	if privileged || profile == "unconfined" {
		return nil, nil
	}
	names := make([]string, 0, len(caps))
	for _, c := range caps {
		names = append(names, "CAP_"+strings.ToUpper(c.String()))
	}
	rs := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: names, Effective: names, Permitted: names,
	}}}
	if profile == "" || profile == "builtin" {
		return seccomp.GetDefaultProfile(rs)
	}
	p, err := seccomp.LoadProfile(profile, rs)
	if err != nil {
		return nil, fmt.Errorf("loading seccomp profile: %w", err)
	}
	return p, nil
}

// ValidSeccompJSON reports whether a --security-opt seccomp value is a
// profile skiff can read.
func ValidSeccompJSON(profile string) error {
	var p seccomp.Seccomp
	if err := json.Unmarshal([]byte(profile), &p); err != nil {
		return fmt.Errorf("decoding seccomp profile failed: %w", err)
	}
	return nil
}

var seccompActions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
}

func seccompAction(a specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case specs.ActErrno:
		code := int16(unix.EPERM)
		if errnoRet != nil {
			code = int16(*errnoRet)
		}
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case specs.ActTrace:
		code := int16(unix.EPERM)
		if errnoRet != nil {
			code = int16(*errnoRet)
		}
		return libseccomp.ActTrace.SetReturnCode(code), nil
	}
	if act, ok := seccompActions[a]; ok {
		return act, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("unsupported seccomp action %q", a)
}

var seccompOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// loadSeccomp compiles the profile and loads it into the calling thread
// (init and exec are locked to the thread that execs). It needs
// CAP_SYS_ADMIN or no_new_privs, so it runs before capabilities drop.
func loadSeccomp(p *specs.LinuxSeccomp) error {
	if p == nil {
		return nil
	}
	def, err := seccompAction(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	defer f.Release()
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	for _, a := range p.Architectures {
		arch, err := libseccomp.GetArchFromString(strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_")))
		if err != nil {
			continue
		}
		if err := f.AddArch(arch); err != nil {
			return fmt.Errorf("seccomp: adding arch %s: %w", a, err)
		}
	}
	for _, sc := range p.Syscalls {
		act, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return err
		}
		if act == def {
			continue
		}
		for _, name := range sc.Names {
			call, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // not a syscall on this architecture
			}
			if err := addRule(f, call, act, sc.Args); err != nil {
				return fmt.Errorf("seccomp: rule for %s: %w", name, err)
			}
		}
	}
	if err := f.Load(); err != nil {
		return fmt.Errorf("loading the seccomp filter: %w", err)
	}
	return nil
}

// addRule adds one syscall rule. Conditions on distinct arguments must all
// hold (one rule); several conditions on the same argument are
// alternatives (one rule each), as runc reads a profile.
func addRule(f *libseccomp.ScmpFilter, call libseccomp.ScmpSyscall, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	if len(args) == 0 {
		return f.AddRule(call, act)
	}
	var conds []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	sameArg := false
	for _, a := range args {
		op, ok := seccompOps[a.Op]
		if !ok {
			return fmt.Errorf("unsupported operator %q", a.Op)
		}
		var c libseccomp.ScmpCondition
		var err error
		if op == libseccomp.CompareMaskedEqual {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		} else {
			c, err = libseccomp.MakeCondition(a.Index, op, a.Value)
		}
		if err != nil {
			return err
		}
		if seen[a.Index] {
			sameArg = true
		}
		seen[a.Index] = true
		conds = append(conds, c)
	}
	if !sameArg {
		return f.AddRuleConditional(call, act, conds)
	}
	for _, c := range conds {
		if err := f.AddRuleConditional(call, act, []libseccomp.ScmpCondition{c}); err != nil {
			return err
		}
	}
	return nil
}
