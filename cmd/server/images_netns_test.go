package main_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"metacdn/fixtures"
	"metacdn/scaler/testimg"
)

// netnsLab is a server in one network namespace and clients in others,
// each joined to it by its own veth pair. Every address lives inside the
// namespaces: this process never dials one, it runs curl in the client
// namespaces with ip netns exec.
type netnsLab struct {
	t      *testing.T
	prefix string
	server string // namespace running the server
	links  []netnsLink
}

type netnsLink struct {
	client   string // client namespace
	serverIP string // the server's address on this link
	clientIP string
	dev      string // the server's end, where its egress is shaped
}

func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run as root (CI does) to test ?w=auto over a shaped link")
	}
	for _, bin := range []string{"ip", "tc", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (apt-get install iproute2 curl): cannot build a shaped link", bin)
		}
	}
}

// newNetnsLab creates the server namespace and n client namespaces, link i
// on 10.77.i.0/30, all removed at cleanup.
func newNetnsLab(t *testing.T, n int) *netnsLab {
	t.Helper()
	l := &netnsLab{t: t, prefix: fmt.Sprintf("mcdn-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	l.server = l.prefix + "-s"
	l.ns(l.server)
	l.run("ip", "-n", l.server, "link", "set", "lo", "up")
	for i := 1; i <= n; i++ {
		lk := netnsLink{
			client:   fmt.Sprintf("%s-c%d", l.prefix, i),
			serverIP: fmt.Sprintf("10.77.%d.1", i),
			clientIP: fmt.Sprintf("10.77.%d.2", i),
			dev:      fmt.Sprintf("s%d", i),
		}
		l.ns(lk.client)
		// Both ends are created inside namespaces: the host's interface
		// list is never touched, so names cannot clash with it.
		l.run("ip", "-n", l.server, "link", "add", lk.dev, "type", "veth", "peer", "name", "c", "netns", lk.client)
		l.run("ip", "-n", l.server, "addr", "add", lk.serverIP+"/30", "dev", lk.dev)
		l.run("ip", "-n", lk.client, "addr", "add", lk.clientIP+"/30", "dev", "c")
		l.run("ip", "-n", l.server, "link", "set", lk.dev, "up")
		l.run("ip", "-n", lk.client, "link", "set", "c", "up")
		l.run("ip", "-n", lk.client, "link", "set", "lo", "up")
		l.links = append(l.links, lk)
	}
	return l
}

func (l *netnsLab) ns(name string) {
	l.t.Helper()
	l.run("ip", "netns", "add", name)
	l.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
}

func (l *netnsLab) run(name string, args ...string) string {
	l.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// shape limits the server's egress on link i with a token bucket: tbf is
// in every kernel, where netem may not be.
func (l *netnsLab) shape(i int, rate string) {
	l.t.Helper()
	l.run("ip", "netns", "exec", l.server, "tc", "qdisc", "add", "dev", l.links[i].dev,
		"root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms")
}

// curl runs curl in client namespace of link i and returns its stdout.
func (l *netnsLab) curl(ctx context.Context, i int, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.links[i].client, "curl", "-sS", "--max-time", "60"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), fmt.Errorf("curl %v: %w: %s", args, err, ee.Stderr)
		}
		return string(out), fmt.Errorf("curl %v: %w", args, err)
	}
	return string(out), nil
}

// autoAnswer is what one ?w=auto answer said about itself.
type autoAnswer struct {
	width    int
	evidence string
	bytes    int
	seconds  float64
}

func (l *netnsLab) fetchAuto(i int, url string) autoAnswer {
	l.t.Helper()
	out, err := l.curl(context.Background(), i, "-D", "-", "-o", "/dev/null", "-w", "\nstats %{http_code} %{size_download} %{time_total}\n", url)
	if err != nil {
		l.t.Fatal(err)
	}
	var a autoAnswer
	status := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, _ := strings.Cut(line, ":")
		switch strings.ToLower(k) {
		case "x-image-width":
			a.width, _ = strconv.Atoi(strings.TrimSpace(v))
		case "x-image-evidence":
			a.evidence = strings.TrimSpace(v)
		}
		if rest, ok := strings.CutPrefix(line, "stats "); ok {
			fmt.Sscan(rest, &status, &a.bytes, &a.seconds)
		}
	}
	if status != "200" || a.width == 0 {
		l.t.Fatalf("GET %s from %s: status %s, width %d\n%s", url, l.links[i].client, status, a.width, out)
	}
	return a
}

// TestImages_NetnsAutoWidth runs the real server in a namespace and asks
// for ?w=auto, with no Client Hints, from two clients: one behind a 1 Mbit/s
// token bucket, one unshaped. The server learns each link from TCP_INFO of
// its own answers, so after a few requests the shaped client gets a
// narrower image than the unshaped one.
func TestImages_NetnsAutoWidth(t *testing.T) {
	requireNetns(t)
	lab := newNetnsLab(t, 2)
	const shaped, open = 0, 1
	lab.shape(shaped, "1mbit")

	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(photo, testimg.PhotoJPEG(2000, 1500, 7, 85), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := exec.Command("ip", "netns", "exec", lab.server, fixtures.Binary(t, "server"),
		"--id", "netns", "--listen", "0.0.0.0:8080", "--advertise", "http://"+lab.links[open].serverIP+":8080",
		"--data", filepath.Join(dir, "data"), "--log-level", "debug")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", b)
		}
	})
	base := func(i int) string { return "http://" + lab.links[i].serverIP + ":8080" }

	// Wait for /healthz over the unshaped link, polling.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := lab.curl(ctx, open, "-f", "-o", "/dev/null", base(open)+"/healthz")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy in 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := lab.curl(context.Background(), open, "-f", "-o", "/dev/null", "-T", photo, "-H", "Content-Type: image/jpeg", base(open)+"/v1/objects/photo.jpg"); err != nil {
		t.Fatal(err)
	}
	for deadline = time.Now().Add(30 * time.Second); ; {
		out, err := lab.curl(context.Background(), open, "-f", base(open)+"/v1/variants/photo.jpg")
		if err == nil && strings.Count(out, `"precomputed":true`) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("variants not precomputed in 30s: %s %v", out, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Requests alternate so that both clients see the same server state.
	var last [2]autoAnswer
	for round := 1; round <= 4; round++ {
		for _, i := range []int{shaped, open} {
			a := lab.fetchAuto(i, base(i)+"/v1/objects/photo.jpg?w=auto")
			t.Logf("round %d %s: width %d, %d bytes in %.2fs (%.0f kB/s), evidence %s", round,
				map[int]string{shaped: "1 Mbit/s", open: "unshaped"}[i], a.width, a.bytes, a.seconds,
				float64(a.bytes)/a.seconds/1e3, a.evidence)
			last[i] = a
		}
	}
	if last[shaped].width >= last[open].width {
		t.Fatalf("shaped client got width %d, unshaped %d: want the shaped one narrower", last[shaped].width, last[open].width)
	}
	for _, i := range []int{shaped, open} {
		if ev := last[i].evidence; ev != "tcp_info" && ev != "history" {
			t.Fatalf("client %d: evidence %q, want the server's own estimate", i, ev)
		}
	}
}
