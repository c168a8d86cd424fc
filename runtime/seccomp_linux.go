package runtime

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

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

// CompileSeccomp compiles a profile to the BPF program the kernel loads
// (nil for no profile). The engine compiles once per profile and caps;
// each container's init only loads the result.
func CompileSeccomp(p *specs.LinuxSeccomp) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	def, err := seccompAction(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	defer f.Release()
	for _, a := range p.Architectures {
		arch, err := libseccomp.GetArchFromString(strings.ToLower(strings.TrimPrefix(string(a), "SCMP_ARCH_")))
		if err != nil {
			continue
		}
		if err := f.AddArch(arch); err != nil {
			return nil, fmt.Errorf("seccomp: adding arch %s: %w", a, err)
		}
	}
	for _, sc := range p.Syscalls {
		act, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, err
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
				return nil, fmt.Errorf("seccomp: rule for %s: %w", name, err)
			}
		}
	}
	// Through a memfd: libseccomp 2.5 (Debian 12) exports only to a file.
	fd, err := unix.MemfdCreate("skiff-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	mf := os.NewFile(uintptr(fd), "skiff-seccomp")
	defer mf.Close()
	if err := f.ExportBPF(mf); err != nil {
		return nil, fmt.Errorf("compiling the seccomp filter: %w", err)
	}
	if _, err := mf.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(mf)
}

// loadSeccomp loads a compiled filter into the calling thread (init and
// exec are locked to the thread that execs). It needs CAP_SYS_ADMIN or
// no_new_privs, so it runs before capabilities drop.
func loadSeccomp(bpf []byte) error {
	if len(bpf) == 0 {
		return nil
	}
	if len(bpf)%8 != 0 {
		return fmt.Errorf("seccomp: a BPF program of %d bytes", len(bpf))
	}
	prog := make([]unix.SockFilter, len(bpf)/8)
	for i := range prog {
		b := bpf[i*8:]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]), Jt: b[2], Jf: b[3],
			K: binary.NativeEndian.Uint32(b[4:8]),
		}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("loading the seccomp filter: %w", errno)
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
