package runtime

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCloseExecFrom(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	// An fd inherited without close-on-exec, as from a shell.
	fd, err := unix.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
		t.Fatal("dup'd fd is already close-on-exec")
	}
	if err := CloseExecFrom(3); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d is not close-on-exec after CloseExecFrom(3)", fd)
	}
	// And it reaches no program: /proc/self/fd of a child lists 0-3 only.
	out, err := exec.Command("ls", "/proc/self/fd").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		switch f {
		case "0", "1", "2", "3": // 3 is ls's own directory
		default:
			t.Errorf("a child process holds fd %s", f)
		}
	}
}

// TestCheckCwd chroots a child process into a directory after opening
// one outside it, as a leaked fd would be, and checks that a working
// directory reached through /proc/self/fd/N is refused.
func TestCheckCwd(t *testing.T) {
	if os.Getenv("SKIFF_TEST_CWD_CHILD") == "1" {
		cwdChild()
		return
	}
	if err := checkCwd("/"); err != nil {
		t.Fatalf("checkCwd in a reachable directory: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to chroot")
	}
	root := t.TempDir()
	if err := os.Mkdir(root+"/proc", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^TestCheckCwd$")
	cmd.Env = append(os.Environ(), "SKIFF_TEST_CWD_CHILD=1", "SKIFF_TEST_ROOT="+root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "REFUSED: ") || !strings.Contains(string(out), "possible container breakout detected") {
		t.Errorf("a working directory outside the root was not refused:\n%s", out)
	}
}

func cwdChild() {
	// unshare and chroot act on this thread's filesystem view.
	goruntime.LockOSThread()
	outside, err := os.Open(os.TempDir())
	if err != nil {
		panic(err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		panic(err)
	}
	root := os.Getenv("SKIFF_TEST_ROOT")
	if err := unix.Mount("proc", root+"/proc", "proc", 0, ""); err != nil {
		panic(err)
	}
	if err := unix.Chroot(root); err != nil {
		panic(err)
	}
	cwd := "/proc/self/fd/" + strconv.Itoa(int(outside.Fd()))
	if err := os.Chdir(cwd); err != nil {
		panic(err)
	}
	if err := checkCwd(cwd); err != nil {
		os.Stdout.WriteString("REFUSED: " + err.Error() + "\n")
	} else {
		os.Stdout.WriteString("ACCEPTED\n")
	}
	os.Exit(0)
}
