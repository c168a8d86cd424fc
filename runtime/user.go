package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// identity is the user a container process runs as.
type identity struct {
	UID, GID int
	Groups   []int
	Home     string
}

// resolveUser turns Docker's --user value (name, uid, name:group, uid:gid)
// into ids, looking names up in the container's /etc/passwd and /etc/group.
// rootfs is the container's root as seen by the caller.
func resolveUser(rootfs, spec string) (identity, error) {
	id := identity{Home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	passwd := readColonFile(filepath.Join(rootfs, "etc/passwd"))
	groups := readColonFile(filepath.Join(rootfs, "etc/group"))
	if userPart == "" {
		userPart = "0"
	}
	found := false
	for _, f := range passwd {
		if len(f) < 7 {
			continue
		}
		if f[0] == userPart || f[2] == userPart {
			id.UID, _ = strconv.Atoi(f[2])
			id.GID, _ = strconv.Atoi(f[3])
			id.Home = f[5]
			found = true
			break
		}
	}
	if !found {
		n, err := strconv.Atoi(userPart)
		if err != nil || n < 0 {
			return id, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		id.UID, id.GID = n, n
		if n != 0 {
			id.GID = 0
		}
	}
	if hasGroup {
		gfound := false
		for _, f := range groups {
			if len(f) >= 3 && (f[0] == groupPart || f[2] == groupPart) {
				id.GID, _ = strconv.Atoi(f[2])
				gfound = true
				break
			}
		}
		if !gfound {
			n, err := strconv.Atoi(groupPart)
			if err != nil || n < 0 {
				return id, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
			id.GID = n
		}
	}
	// Supplementary groups: those that list the user by name, only when
	// no group was given (as runc's GetExecUser).
	if hasGroup {
		return id, nil
	}
	name := ""
	for _, f := range passwd {
		if len(f) >= 3 && f[2] == strconv.Itoa(id.UID) {
			name = f[0]
			break
		}
	}
	if name != "" {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, m := range strings.Split(f[3], ",") {
				if m == name {
					if g, err := strconv.Atoi(f[2]); err == nil && g != id.GID {
						id.Groups = append(id.Groups, g)
					}
				}
			}
		}
	}
	return id, nil
}

func readColonFile(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out
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
