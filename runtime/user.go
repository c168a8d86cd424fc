package runtime

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
)

// identity is the user a container process runs as.
type identity struct {
	UID, GID int
	Groups   []int
	Home     string
}

// resolveUser turns Docker's --user value (name, uid, name:group, uid:gid)
// into ids, looking names up in the container's /etc/passwd and /etc/group
// with moby/sys/user, as runc does (a uid that passwd does not list runs
// with gid 0 and home /; an explicit group gets no supplementary groups).
// rootfs is the container's root as seen by the caller.
func resolveUser(rootfs, spec string) (identity, error) {
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	u, err := user.GetExecUserPath(spec, defaults, filepath.Join(rootfs, "etc/passwd"), filepath.Join(rootfs, "etc/group"))
	if err != nil {
		return identity{}, userError(spec, err)
	}
	id := identity{UID: u.Uid, GID: u.Gid, Home: u.Home}
	if id.Home == "" {
		id.Home = "/"
	}
	for _, g := range u.Sgids {
		if g != u.Gid {
			id.Groups = append(id.Groups, g)
		}
	}
	return id, nil
}

// userError is Docker's message for a user or group that is not there.
func userError(spec string, err error) error {
	userPart, groupPart, _ := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	userOutOfRange := false
	if n, perr := strconv.ParseInt(userPart, 10, 64); perr == nil && (n < 0 || n > math.MaxInt32) {
		userOutOfRange = true
	}
	switch {
	case errors.Is(err, user.ErrNoPasswdEntries) || errors.Is(err, user.ErrRange) && userOutOfRange:
		return fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
	case errors.Is(err, user.ErrNoGroupEntries) || errors.Is(err, user.ErrRange):
		return fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
	}
	return err
}

// lookPath finds the executable for argv0 in the container, whose root is
// "/" once init has pivoted. It returns Docker's messages and exit codes.
func lookPath(argv0, pathEnv string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() {
			return fmt.Errorf("is a directory")
		}
		if st.Mode()&0o111 == 0 {
			return os.ErrPermission
		}
		return nil
	}
	if strings.Contains(argv0, "/") {
		err := check(argv0)
		switch {
		case err == nil:
			return argv0, nil
		case os.IsNotExist(err):
			return "", &StartError{Code: 127, Msg: fmt.Sprintf("exec: %q: stat %s: no such file or directory", argv0, argv0)}
		case err.Error() == "is a directory":
			return "", &StartError{Code: 126, Msg: fmt.Sprintf("exec: %q: is a directory", argv0)}
		default:
			return "", &StartError{Code: 126, Msg: fmt.Sprintf("exec: %q: permission denied", argv0)}
		}
	}
	if pathEnv == "" {
		pathEnv = defaultPath
	}
	// As exec.LookPath: files that are not executable are skipped.
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if check(p) == nil {
			return p, nil
		}
	}
	return "", &StartError{Code: 127, Msg: fmt.Sprintf("exec: %q: executable file not found in $PATH", argv0)}
}

// defaultPath is the PATH a container gets when its image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
