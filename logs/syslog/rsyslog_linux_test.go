package syslog_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rsyslogd is Debian's rsyslog, started by the test with its own
// configuration: imudp, imtcp and imtcp over TLS (rsyslog-openssl) on
// 127.0.0.1, every message written as one JSON line (rsyslog's own jsonf
// template) to a file.
type rsyslogd struct {
	dir           string
	udp, tcp, tls string // host:port
	unixgram      string // socket path
	tlsOK         bool
	out           string
	caFile        string
	off           int64
	records       []record
	stderr        *strings.Builder
	cmd           *exec.Cmd
	probeSeq      int
}

// record is one message as rsyslog parsed it.
type record struct {
	Tag      string `json:"tag"`
	Program  string `json:"program"`
	AppName  string `json:"appname"`
	MsgID    string `json:"msgid"`
	Facility string `json:"facility"`
	Severity string `json:"severity"`
	Hostname string `json:"hostname"`
	Input    string `json:"input"`
	Msg      string `json:"msg"`
	Raw      string `json:"raw"`
}

// needRsyslog finds rsyslogd: missing, the test fails under CI=true and
// is skipped otherwise.
func needRsyslog(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr == nil {
			return "/usr/sbin/rsyslogd"
		}
		if os.Getenv("CI") == "true" {
			t.Fatal("rsyslogd is missing (apt-get install rsyslog rsyslog-openssl)")
		}
		t.Skip("rsyslogd is missing (apt-get install rsyslog rsyslog-openssl)")
	}
	return path
}

// ossl is rsyslog-openssl's network stream driver.
func haveOSSL() bool {
	matches, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_ossl.so")
	more, _ := filepath.Glob("/usr/lib/rsyslog/lmnsd_ossl.so")
	return len(matches)+len(more) > 0
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const rsyslogConf = `global(workDirectory="{{DIR}}" maxMessageSize="64k"{{TLSGLOBAL}})
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{{DIR}}/log.sock" UseSpecialParser="off" ParseHostname="on")
module(load="imudp")
module(load="imtcp" maxSessions="200")
input(type="imudp" address="127.0.0.1" port="{{UDP}}" name="udp")
input(type="imtcp" address="127.0.0.1" port="{{TCP}}" name="tcp")
{{TLSINPUT}}
template(name="skiff" type="list" option.jsonf="on") {
  property(outname="tag" name="syslogtag" format="jsonf")
  property(outname="program" name="programname" format="jsonf")
  property(outname="appname" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="facility" name="syslogfacility-text" format="jsonf")
  property(outname="severity" name="syslogseverity-text" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="input" name="inputname" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}
*.* action(type="omfile" file="{{OUT}}" template="skiff")
`

// startRsyslog starts rsyslogd on free ports and waits until it answers;
// t.Cleanup kills it.
func startRsyslog(t *testing.T) *rsyslogd {
	bin := needRsyslog(t)
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		r, err := tryRsyslog(t, bin)
		if err == nil {
			return r
		}
		lastErr = err.Error()
	}
	t.Fatalf("rsyslogd did not start: %s", lastErr)
	return nil
}

func tryRsyslog(t *testing.T, bin string) (*rsyslogd, error) {
	dir := t.TempDir()
	r := &rsyslogd{dir: dir, out: filepath.Join(dir, "messages.json"), stderr: &strings.Builder{},
		unixgram: filepath.Join(dir, "log.sock")}
	r.udp = fmt.Sprintf("127.0.0.1:%d", freePort(t, "udp"))
	r.tcp = fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	tlsGlobal, tlsInput := "", ""
	if haveOSSL() {
		r.tlsOK = true
		r.tls = fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
		r.caFile = writeCerts(t, dir)
		tlsGlobal = fmt.Sprintf(` defaultNetstreamDriverCAFile="%s/ca.pem" defaultNetstreamDriverCertFile="%s/cert.pem" defaultNetstreamDriverKeyFile="%s/key.pem"`, dir, dir, dir)
		_, port, _ := net.SplitHostPort(r.tls)
		tlsInput = fmt.Sprintf(`input(type="imtcp" address="127.0.0.1" port="%s" name="tls" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")`, port)
	} else if os.Getenv("CI") == "true" {
		t.Fatal("rsyslog-openssl is missing (apt-get install rsyslog-openssl)")
	}
	_, udpPort, _ := net.SplitHostPort(r.udp)
	_, tcpPort, _ := net.SplitHostPort(r.tcp)
	conf := strings.NewReplacer("{{DIR}}", dir, "{{UDP}}", udpPort, "{{TCP}}", tcpPort, "{{OUT}}", r.out,
		"{{TLSGLOBAL}}", tlsGlobal, "{{TLSINPUT}}", tlsInput).Replace(rsyslogConf)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = r.stderr, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	// Wait's error is no news: rsyslogd stops when it is killed.
	go func() { _ = r.cmd.Wait(); close(exited) }()
	kill := func() {
		if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("killing rsyslogd: %v", err)
		}
	}
	t.Cleanup(func() {
		kill()
		<-exited
	})
	// Ready when the TCP ports accept and a UDP probe comes through.
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{r.tcp, r.tls} {
		if addr == "" {
			continue
		}
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				return nil, fmt.Errorf("rsyslogd exited: %s", r.stderr)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				kill()
				return nil, fmt.Errorf("%s does not answer: %s", addr, r.stderr)
			}
		}
	}
	for {
		if _, err := os.Stat(r.unixgram); err == nil {
			break
		}
		if time.Now().After(deadline) {
			kill()
			return nil, fmt.Errorf("no socket %s: %s", r.unixgram, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := net.Dial("udp", r.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		r.probeSeq++
		fmt.Fprintf(conn, "<14>Jan  1 00:00:00 probe[1]: ready %d", r.probeSeq)
		r.read(t)
		for _, rec := range r.records {
			if rec.Program == "probe" {
				return r, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("rsyslogd exited: %s", r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			kill()
			return nil, fmt.Errorf("no UDP message came through: %s", r.stderr)
		}
	}
}

// read parses the lines rsyslog has written since the last read.
func (r *rsyslogd) read(t *testing.T) {
	t.Helper()
	f, err := os.Open(r.out)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(r.off, 0); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(f, 256*1024)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return // an incomplete line is read next time
		}
		r.off += int64(len(line))
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("rsyslog wrote %q: %v", line, err)
		}
		r.records = append(r.records, rec)
	}
}

// messages waits (at most 10 s) until want messages with program name
// program have arrived, and returns those that have.
func (r *rsyslogd) messages(t *testing.T, program string, want int) []record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.read(t)
		var out []record
		for _, rec := range r.records {
			if rec.Program == program {
				out = append(out, rec)
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeCerts makes a CA and a server certificate for 127.0.0.1 in dir and
// returns the CA's file.
func writeCerts(t *testing.T, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skiff test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "EC PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.pem")
}
