package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/miekg/dns"

	"github.com/skiff-dev/skiff/hack/testimages"
	"github.com/skiff-dev/skiff/netslirp"
)

// iperfImage is busybox with the host's iperf3 and the libraries it links
// (from ldd), so that both engines run the same iperf3 as the host.
func iperfImage(bin string) (v1.Image, error) {
	img, err := testimages.Busybox()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	files := []string{bin}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if img, err = testimages.WithFile(img, f, b, 0o755, 0, 0); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// iperfGbps runs an iperf3 client and returns the received rate in Gbit/s.
func iperfGbps(c *exec.Cmd) (float64, error) {
	out, err := c.Output()
	if err != nil {
		return 0, fmt.Errorf("%v: %w\n%s", c.Args, err, out)
	}
	var res struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("iperf3 output: %w\n%s", err, out)
	}
	return res.End.SumReceived.BitsPerSecond / 1e9, nil
}

func freePort() int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 20000 + os.Getpid()%10000
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostIperf starts an iperf3 server on the host's 127.0.0.1:port.
func hostIperf(port int) (stop func(), err error) {
	srv := exec.Command("iperf3", "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		return nil, err
	}
	// Not waitPort: a probe connection would be taken for a test.
	time.Sleep(300 * time.Millisecond)
	return func() {
		// Killed, so Wait only reaps it: its error is the kill's.
		if err := srv.Process.Kill(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: stopping iperf3:", err)
		}
		_ = srv.Wait()
	}, nil
}

// waitPort waits until something accepts on 127.0.0.1:port.
func waitPort(port int) {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// netBench measures, rootless, iperf3 from the host to a container through
// a published port (skiff, podman, and the host's loopback as the
// ceiling) and from a container to a server on the host's loopback
// (skiff with host loopback allowed, podman's slirp4netns with
// allow_host_loopback), then the embedded DNS's queries per second.
func netBench(r runner, skiff, base string, secs int) error {
	bin, err := exec.LookPath("iperf3")
	if err != nil {
		return fmt.Errorf("the network benchmark needs iperf3 (apt-get install iperf3): %w", err)
	}
	img, err := iperfImage(bin)
	if err != nil {
		return err
	}
	tarball := filepath.Join(base, "iperf.tar")
	if err := testimages.WriteTarball(tarball, img, "skiff-bench-iperf:latest"); err != nil {
		return err
	}
	if err := os.Chmod(tarball, 0o644); err != nil {
		return err
	}
	if err := r.must(skiff, "load", "-i", tarball); err != nil {
		return err
	}
	if err := r.must("podman", "load", "-i", tarball); err != nil {
		return err
	}
	t := strconv.Itoa(secs)
	client := func(port int) *exec.Cmd {
		return exec.Command("iperf3", "-J", "-t", t, "-c", "127.0.0.1", "-p", strconv.Itoa(port))
	}

	// The ceiling: host loopback.
	lp := freePort()
	stop, err := hostIperf(lp)
	if err != nil {
		return err
	}
	loop, err := iperfGbps(client(lp))
	stop()
	if err != nil {
		return err
	}
	fmt.Printf("host loopback       iperf3: %6.2f Gbit/s\n", loop)

	rates := map[string]float64{}
	for _, eng := range []struct{ name, bin string }{{"skiff", skiff}, {"podman", "podman"}} {
		port := freePort()
		args := []string{"run", "-d", "--name", "benchiperf", "-p", strconv.Itoa(port) + ":5201", "skiff-bench-iperf", bin, "-s"}
		if err := r.must(eng.bin, args...); err != nil {
			return err
		}
		waitPort(port)
		time.Sleep(200 * time.Millisecond)
		rate, err := iperfGbps(client(port))
		if rmErr := r.must(eng.bin, "rm", "-f", "benchiperf"); err == nil {
			err = rmErr
		}
		if err != nil {
			return err
		}
		rates[eng.name] = rate
		fmt.Printf("%-7s -p host→ctr iperf3: %6.2f Gbit/s\n", eng.name, rate)
	}
	fmt.Printf("ratio skiff/host loopback for host→container through -p: %.2fx (target ≥ 0.80x); skiff/podman %.2fx\n",
		rates["skiff"]/loop, rates["skiff"]/rates["podman"])

	// Container → host loopback.
	hp := freePort()
	for _, eng := range []struct {
		name string
		args []string
	}{
		{"skiff", []string{skiff, "run", "--rm", "skiff-bench-iperf", bin, "-J", "-t", t, "-c", "10.0.2.2", "-p", strconv.Itoa(hp)}},
		{"podman", []string{"podman", "run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "skiff-bench-iperf", bin, "-J", "-t", t, "-c", "10.0.2.2", "-p", strconv.Itoa(hp)}},
	} {
		stop, err := hostIperf(hp)
		if err != nil {
			return err
		}
		rate, err := iperfGbps(r.cmd(eng.args[0], eng.args[1:]...))
		stop()
		if err != nil {
			return err
		}
		rates["out-"+eng.name] = rate
		fmt.Printf("%-7s ctr→host loopback iperf3: %6.2f Gbit/s\n", eng.name, rate)
	}
	fmt.Printf("ratio skiff/podman for container→host loopback: %.2fx (target ≥ 3x)\n", rates["out-skiff"]/rates["out-podman"])
	return dnsBench(r, skiff, secs)
}

// dnsBench counts the embedded DNS's answers per second to a container
// name (an A record each), asked from inside a container's network
// namespace over one UDP socket with at most 64 queries in flight.
func dnsBench(r runner, skiff string, secs int) error {
	if err := r.must(skiff, "network", "create", "--subnet", "10.151.0.0/24", "benchnet"); err != nil {
		return err
	}
	defer r.cleanup(skiff, "network", "rm", "benchnet")
	if err := r.must(skiff, "run", "-d", "--name", "benchdns", "--network", "benchnet", "--dns", "127.0.0.1", "busybox", "sleep", "600"); err != nil {
		return err
	}
	defer r.cleanup(skiff, "rm", "-f", "benchdns")
	out, err := r.cmd(skiff, "inspect", "-f", "{{.State.Pid}}", "benchdns").Output()
	if err != nil {
		return err
	}
	pid := strings.TrimSpace(string(out))
	var pc net.PacketConn
	err = netslirp.InNetNS("/proc/"+pid+"/ns/net", func() error {
		var err error
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		return err
	})
	if err != nil {
		return fmt.Errorf("joining the container's network namespace: %w", err)
	}
	defer pc.Close()
	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 11), Port: 53}
	q := new(dns.Msg)
	q.SetQuestion("benchdns.", dns.TypeA)
	const inflight = 64
	slots := make(chan struct{}, inflight)
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	answers := make(chan int)
	go func() {
		n := 0
		buf := make([]byte, 512)
		for {
			if err := pc.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
				answers <- n
				return
			}
			m, _, err := pc.ReadFrom(buf)
			if err != nil {
				answers <- n
				return
			}
			var a dns.Msg
			if a.Unpack(buf[:m]) == nil && a.Rcode == dns.RcodeSuccess && len(a.Answer) == 1 {
				n++
			}
			<-slots
		}
	}()
	start := time.Now()
	sent, failed := 0, 0
	for id := uint16(1); time.Now().Before(deadline); id++ {
		select {
		case slots <- struct{}{}:
		case <-time.After(time.Second):
			return fmt.Errorf("the embedded DNS stopped answering")
		}
		q.Id = id
		msg, _ := q.Pack()
		if _, err := pc.WriteTo(msg, server); err != nil {
			failed++
			<-slots
			continue
		}
		sent++
	}
	el := time.Since(start).Seconds()
	n := <-answers
	fmt.Printf("skiff   embedded DNS: %.0f answers/s (%d good answers to %d queries, %d failed sends, %d in flight)\n", float64(n)/el, n, sent, failed, inflight)
	return nil
}
