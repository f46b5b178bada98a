package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"metacdn/wire"
)

// MicroRow is one repetition of one codec measurement.
type MicroRow struct {
	Encoding   string
	Kind       string // content kind, or the control message's name
	Size       int    // content bytes (0 for control messages)
	Op         string // encode or decode
	Rep        int
	Iters      int
	NsPerOp    float64 // wall time
	CPUNsPerOp float64 // CPU time of the whole process (GC included): robust to other load on the machine
	MsgBytes   int     // encoded message size
	AllocPerOp float64 // bytes allocated per operation
}

// uploadMessage is the message the uploader sends for a file that fits
// one message: the same fields as uploader.Uploader fills.
func uploadMessage(kind string, content []byte) *wire.UploadRequest {
	sum := sha256.Sum256(content)
	return &wire.UploadRequest{
		Key:         fmt.Sprintf("bench/%s-%d.bin", kind, len(content)),
		ContentType: "application/octet-stream",
		Metadata:    map[string]string{"owner": "bench"},
		Content:     content,
		Sha256:      hex.EncodeToString(sum[:]),
		Final:       true,
		TotalSize:   int64(len(content)),
	}
}

// loopResult is what timeLoop measured, per iteration.
type loopResult struct {
	iters      int
	ns, cpuNs  float64
	allocBytes float64
}

// timeLoop runs f until minDur has passed (at least once) and returns the
// iterations and, per iteration, wall ns, process CPU ns (all threads, so
// the garbage collector's work counts) and bytes allocated.
func timeLoop(minDur time.Duration, f func() error) (loopResult, error) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := processCPU()
	start := time.Now()
	iters := 0
	for {
		if err := f(); err != nil {
			return loopResult{}, err
		}
		iters++
		if time.Since(start) >= minDur {
			break
		}
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&m1)
	n := float64(iters)
	return loopResult{iters: iters, ns: float64(el.Nanoseconds()) / n, cpuNs: float64(cpu.Nanoseconds()) / n,
		allocBytes: float64(m1.TotalAlloc-m0.TotalAlloc) / n}, nil
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureCodecs times encoding and decoding of m in both encodings,
// warmup+reps times each, alternating the encodings within each
// repetition so that load from elsewhere falls on both alike; warm-up
// repetitions are not returned. check, if set, is given each decoded
// message to verify.
func measureCodecs(kind string, size int, m proto.Message, reps, warmup int, minDur time.Duration, check func(wire.Encoding, proto.Message) error) ([]MicroRow, error) {
	encs := []wire.Encoding{wire.JSON, wire.Protobuf}
	encoded := map[wire.Encoding][]byte{}
	for _, enc := range encs {
		b, err := enc.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s %s %d: marshal: %w", enc, kind, size, err)
		}
		encoded[enc] = b
	}
	var rows []MicroRow
	for rep := -warmup; rep < reps; rep++ {
		for i := range encs {
			enc := encs[(i+rep+warmup)%len(encs)]
			b := encoded[enc]
			lr, err := timeLoop(minDur, func() error {
				_, err := enc.Marshal(m)
				return err
			})
			if err != nil {
				return nil, err
			}
			if rep >= 0 {
				rows = append(rows, MicroRow{Encoding: string(enc), Kind: kind, Size: size, Op: "encode", Rep: rep, Iters: lr.iters,
					NsPerOp: lr.ns, CPUNsPerOp: lr.cpuNs, MsgBytes: len(b), AllocPerOp: lr.allocBytes})
			}
			var last proto.Message
			lr, err = timeLoop(minDur, func() error {
				last = m.ProtoReflect().New().Interface()
				return enc.Unmarshal(b, last)
			})
			if err != nil {
				return nil, fmt.Errorf("%s %s %d: unmarshal: %w", enc, kind, size, err)
			}
			if check != nil {
				if err := check(enc, last); err != nil {
					return nil, fmt.Errorf("%s %s %d: %w", enc, kind, size, err)
				}
			}
			if rep >= 0 {
				rows = append(rows, MicroRow{Encoding: string(enc), Kind: kind, Size: size, Op: "decode", Rep: rep, Iters: lr.iters,
					NsPerOp: lr.ns, CPUNsPerOp: lr.cpuNs, MsgBytes: len(b), AllocPerOp: lr.allocBytes})
			}
		}
	}
	return rows, nil
}

// ExpectedSize is the size an upload message with n content bytes must
// have in enc, from the size of the same message without content:
// Protobuf adds the field's tag (1 byte for field 6), the varint length
// and the bytes; JSON adds `"content":"",` (13 bytes) and the base64 text,
// 4*ceil(n/3) bytes.
func ExpectedSize(enc wire.Encoding, envelope, n int) int {
	if n == 0 {
		return envelope
	}
	if enc == wire.Protobuf {
		return envelope + protowire.SizeTag(6) + protowire.SizeBytes(n)
	}
	return envelope + len(`"content":"",`) + 4*((n+2)/3)
}

// checkSizes verifies the encoded size of an upload message against
// ExpectedSize and returns the envelope (the message without content).
func checkSizes(checks *Checks, enc wire.Encoding, kind string, m *wire.UploadRequest) (int, error) {
	b, err := enc.Marshal(m)
	if err != nil {
		return 0, err
	}
	env := proto.Clone(m).(*wire.UploadRequest)
	env.Content = nil
	eb, err := enc.Marshal(env)
	if err != nil {
		return 0, err
	}
	n := len(m.Content)
	want := ExpectedSize(enc, len(eb), n)
	// Exact: both codecs are deterministic about sizes; the tolerance in
	// the write-up's sense is zero bytes here.
	checks.Hard(len(b) == want, "size/"+string(enc), "%s %d B: message %d B, expected %d B (envelope %d B + content framing)", kind, n, len(b), want, len(eb))
	return len(eb), nil
}

// controlMessages are the replication messages whose encoding the
// servers' --encoding flag chooses: a heartbeat of a three-server cluster,
// a push of one log entry, and a pull answer of 100 entries.
func controlMessages() map[string]proto.Message {
	heads := map[string]uint64{"s1": 1234, "s2": 987, "s3": 4567}
	peer := func(id string) *wire.Peer {
		return &wire.Peer{Id: id, Url: "http://127.0.0.1:18081", Provider: "aws", State: "alive",
			LastHeartbeat: "2025-01-02T03:04:05.123456789Z", Version: 1735787045123456789, Heads: heads, LagEntries: 3, LagSeconds: 0.25}
	}
	entry := func(i int) *wire.LogEntry {
		return &wire.LogEntry{Origin: "s1", Seq: uint64(1000 + i), Key: fmt.Sprintf("images/photo-%05d.jpg", i),
			Version: 1735787045123456789 + uint64(i), Sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Size: 123456, ContentType: "image/jpeg", Metadata: map[string]string{"owner": "ann"}, ModifiedUnixNano: 1735787045123456789}
	}
	pull := &wire.PullResponse{Heads: heads}
	for i := range 100 {
		pull.Entries = append(pull.Entries, entry(i))
	}
	return map[string]proto.Message{
		"heartbeat":   &wire.Heartbeat{Self: peer("s1"), Peers: []*wire.Peer{peer("s2"), peer("s3")}, Heads: heads},
		"push-1":      &wire.PushRequest{From: "s1", Entries: []*wire.LogEntry{entry(0)}},
		"pull-100":    pull,
		"upload-ack":  &wire.UploadResponse{UploadId: "u-0123456789abcdef", Received: 4194304, Object: &wire.Object{Key: "images/photo.jpg", Size: 4194304, Sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ContentType: "image/jpeg", Version: 1735787045123456789, Origin: "s1", ModifiedUnixNano: 1735787045123456789}},
		"upload-open": uploadMessage("jpeg", nil),
	}
}

// ControlOrder lists controlMessages in the order results show them.
var ControlOrder = []string{"upload-open", "upload-ack", "push-1", "heartbeat", "pull-100"}

// RunMicro measures both codecs on upload messages of every size and kind
// and on the replication control messages, verifying sizes and round
// trips as it goes.
func RunMicro(cfg Config, contents map[string]map[int][]byte, checks *Checks, logf func(string, ...any)) ([]MicroRow, error) {
	var rows []MicroRow
	encs := []wire.Encoding{wire.JSON, wire.Protobuf}
	for _, size := range cfg.Sizes {
		for _, kind := range Kinds {
			content := contents[kind][size]
			m := uploadMessage(kind, content)
			for _, enc := range encs {
				if _, err := checkSizes(checks, enc, kind, m); err != nil {
					return nil, err
				}
			}
			verified := map[wire.Encoding]bool{}
			r, err := measureCodecs(kind, size, m, cfg.Reps, cfg.Warmup, cfg.MicroTime, func(enc wire.Encoding, got proto.Message) error {
				if verified[enc] {
					return nil
				}
				verified[enc] = true
				g := got.(*wire.UploadRequest)
				ok := bytes.Equal(g.Content, content) && g.Sha256 == m.Sha256 && g.Key == m.Key
				checks.Hard(ok, "roundtrip/"+string(enc), "%s %d B: decoded message equals the encoded one", kind, size)
				if !ok {
					return fmt.Errorf("decoded content differs from the source")
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
			for _, enc := range encs {
				logf("micro %-8s %-6s %9d B: encode %s, decode %s CPU, %d B", enc, kind, size,
					fmtNs(medianOf(r, enc, "encode")), fmtNs(medianOf(r, enc, "decode")), msgBytes(r, enc))
			}
		}
	}
	msgs := controlMessages()
	for _, name := range ControlOrder {
		m := msgs[name]
		r, err := measureCodecs(name, 0, m, cfg.Reps, cfg.Warmup, cfg.MicroTime/4, func(enc wire.Encoding, got proto.Message) error {
			if !proto.Equal(got, m) {
				checks.Hard(false, "roundtrip/"+string(enc), "%s: decoded message differs", name)
				return fmt.Errorf("%s: decoded message differs", name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
		for _, enc := range encs {
			logf("micro %-8s %-11s: encode %s, decode %s CPU, %d B", enc, name, fmtNs(medianOf(r, enc, "encode")), fmtNs(medianOf(r, enc, "decode")), msgBytes(r, enc))
		}
	}
	return rows, nil
}

func msgBytes(rows []MicroRow, enc wire.Encoding) int {
	for _, r := range rows {
		if r.Encoding == string(enc) {
			return r.MsgBytes
		}
	}
	return 0
}

func medianOf(rows []MicroRow, enc wire.Encoding, op string) float64 {
	var xs []float64
	for _, r := range rows {
		if r.Op == op && r.Encoding == string(enc) {
			xs = append(xs, r.CPUNsPerOp)
		}
	}
	return Summarize(xs).Median
}

func fmtNs(ns float64) string { return time.Duration(ns).Round(time.Microsecond / 10).String() }
