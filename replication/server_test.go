package replication

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"metacdn/wire"
)

func post(t *testing.T, url, ct string, body []byte) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Post(url, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// Every server accepts both encodings and answers in the request's.
func TestSyncRoutes_Encodings(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	n.put("a", []byte("alpha"))
	n.put("b", []byte("beta"))
	n.del("a")
	for _, enc := range []wire.Encoding{wire.JSON, wire.Protobuf} {
		t.Run(string(enc), func(t *testing.T) {
			body, err := enc.Marshal(&wire.PullRequest{From: "x", Cursors: map[string]uint64{"s1": 1}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			res, b := post(t, n.url+"/v1/replication/pull", enc.ContentType(), body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("pull: %d %s", res.StatusCode, b)
			}
			if got := res.Header.Get("Content-Type"); got != enc.ContentType() {
				t.Fatalf("answer Content-Type %q, want %q", got, enc.ContentType())
			}
			var pr wire.PullResponse
			if err := enc.Unmarshal(b, &pr); err != nil {
				t.Fatal(err)
			}
			if got := len(pr.GetEntries()); got != 2 || pr.GetEntries()[0].GetSeq() != 2 || !pr.GetEntries()[1].GetDeleted() {
				t.Fatalf("entries after s1/1: %v", pr.GetEntries())
			}
			if got, want := pr.GetHeads()["s1"], uint64(3); got != want {
				t.Fatalf("heads[s1] = %d, want %d", got, want)
			}
		})
	}
	t.Run("Limit", func(t *testing.T) {
		body, _ := wire.JSON.Marshal(&wire.PullRequest{Limit: 1})
		_, b := post(t, n.url+"/v1/replication/pull", wire.ContentTypeJSON, body)
		var pr wire.PullResponse
		if err := wire.JSON.Unmarshal(b, &pr); err != nil {
			t.Fatal(err)
		}
		if len(pr.GetEntries()) != 1 || !pr.GetMore() {
			t.Fatalf("limit 1: %d entries, more=%v", len(pr.GetEntries()), pr.GetMore())
		}
	})
}

func TestSyncRoutes_Errors(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	o := n.put("k", []byte("content"))
	tests := []struct {
		name   string
		method string
		path   string
		ct     string
		body   string
		status int
	}{
		{"UnknownEncoding", http.MethodPost, "/pull", "text/plain", "x", http.StatusUnsupportedMediaType},
		{"MalformedJSON", http.MethodPost, "/pull", wire.ContentTypeJSON, `{"cursors":`, http.StatusBadRequest},
		{"UnknownField", http.MethodPost, "/push", wire.ContentTypeJSON, `{"form":"x"}`, http.StatusBadRequest},
		{"HeartbeatWithoutID", http.MethodPost, "/heartbeat", wire.ContentTypeJSON, `{}`, http.StatusBadRequest},
		{"BadBlobName", http.MethodGet, "/blobs/xyz", "", "", http.StatusBadRequest},
		{"UnknownBlob", http.MethodGet, "/blobs/" + shaHex([]byte("nope")), "", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, n.url+"/v1/replication"+tc.path, strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, b)
			}
			if !bytes.Contains(b, []byte(`"error"`)) {
				t.Fatalf("no JSON error body: %s", b)
			}
		})
	}
	t.Run("Blob", func(t *testing.T) {
		res, err := http.Get(n.url + "/v1/replication/blobs/" + o.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(b) != "content" {
			t.Fatalf("blob: %d %q", res.StatusCode, b)
		}
	})
	t.Run("BlobRangePastEnd", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, n.url+"/v1/replication/blobs/"+o.SHA256, nil)
		req.Header.Set("Range", "bytes=100-")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct{ Error string }
		if res.StatusCode != http.StatusRequestedRangeNotSatisfiable || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Fatalf("range past the end: %d %q, want 416 with a JSON error", res.StatusCode, b)
		}
		if got := res.Header.Get("Content-Range"); got != "bytes */7" {
			t.Fatalf("Content-Range %q, want bytes */7", got)
		}
	})
}

// A push that leaves a gap applies nothing and answers the heads, which
// tell the sender where to resume.
func TestSyncRoutes_PushGap(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	req := &wire.PushRequest{From: "s9", Entries: []*wire.LogEntry{{Origin: "s9", Seq: 5, Key: "k", Version: 1, Deleted: true}}}
	body, _ := proto.Marshal(req)
	res, b := post(t, n.url+"/v1/replication/push", wire.ContentTypeProtobuf, body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", res.StatusCode, b)
	}
	var pr wire.PushResponse
	if err := proto.Unmarshal(b, &pr); err != nil {
		t.Fatal(err)
	}
	if got := pr.GetHeads()["s9"]; got != 0 {
		t.Fatalf("heads[s9] = %d after a gap, want 0", got)
	}
	req.Entries[0].Seq = 1
	body, _ = proto.Marshal(req)
	_, b = post(t, n.url+"/v1/replication/push", wire.ContentTypeProtobuf, body)
	if err := proto.Unmarshal(b, &pr); err != nil {
		t.Fatal(err)
	}
	if got := pr.GetHeads()["s9"]; got != 1 {
		t.Fatalf("heads[s9] = %d, want 1", got)
	}
}

// TestSyncRoutes_VersionTooFarAhead: a version more than a day ahead of
// this server's clock, in a pushed entry or a heartbeat's row, is not
// taken: it would win over every later change and carry the clock to the
// top of its range.
func TestSyncRoutes_VersionTooFarAhead(t *testing.T) {
	n := newTestNode(t, "s1")
	n.start()
	o := n.put("victim", []byte("content"))
	push := `{"from":"ghost","entries":[{"origin":"ghost","seq":"1","key":"victim","version":"18446744073709551615","deleted":true}]}`
	if res, b := post(t, n.url+"/v1/replication/push", wire.ContentTypeJSON, []byte(push)); res.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", res.StatusCode, b)
	}
	if got, err := n.db.Get("victim"); err != nil || got.SHA256 != o.SHA256 {
		t.Fatalf("victim after a forged tombstone: %+v, %v; want the object as written", got, err)
	}
	hb := `{"self":{"id":"evil","url":"http://127.0.0.1:1","provider":"aws","version":"18446744073709551615"}}`
	if res, b := post(t, n.url+"/v1/replication/heartbeat", wire.ContentTypeJSON, []byte(hb)); res.StatusCode != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", res.StatusCode, b)
	}
	for _, p := range n.rep.Peers().Peers {
		if p.ID == "evil" {
			t.Fatal("a row versioned at the top of the range joined the membership table")
		}
	}
	// The same row at an ordinary version is taken: the check above
	// would pass for a heartbeat ignored for any other reason.
	hb = `{"self":{"id":"evil","url":"http://127.0.0.1:1","provider":"aws","version":"1"}}`
	post(t, n.url+"/v1/replication/heartbeat", wire.ContentTypeJSON, []byte(hb))
	joined := false
	for _, p := range n.rep.Peers().Peers {
		joined = joined || p.ID == "evil"
	}
	if !joined {
		t.Fatal("the heartbeat's row at version 1 was not taken either: the test proves nothing")
	}
	if later := n.put("victim", []byte("later")); later.Version <= o.Version {
		t.Fatalf("a later write got version %d, want above %d", later.Version, o.Version)
	}
}
