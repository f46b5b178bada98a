package replication

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"metacdn/wire"
)

// Headers every sync call carries, so that the receiver knows whom to
// fetch blobs from even before it knows the sender as a peer.
const (
	headerPeerID  = "X-Metacdn-Peer"
	headerPeerURL = "X-Metacdn-Peer-Url"
)

// errBlobNotFound is returned when a peer does not hold a blob.
var errBlobNotFound = errors.New("peer does not hold the blob")

// call posts req to a peer's /v1/replication/OP in this server's encoding
// and decodes the answer, in whatever encoding it comes, into resp.
func (r *Replicator) call(ctx context.Context, peer, base, op string, req, resp proto.Message) error {
	label := r.peerLabel(peer)
	b, err := r.cfg.Encoding.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", op, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/replication/"+op, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	hreq.Header.Set("Content-Type", r.cfg.Encoding.ContentType())
	hreq.Header.Set("Accept", r.cfg.Encoding.ContentType())
	hreq.Header.Set(headerPeerID, r.cfg.ID)
	hreq.Header.Set(headerPeerURL, r.cfg.URL)
	res, err := r.hc.Do(hreq)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer res.Body.Close()
	r.met.bytesShipped.WithLabelValues(label).Add(float64(len(b)))
	body := &countingReader{r: res.Body}
	defer func() { r.met.bytesReceived.WithLabelValues(label).Add(float64(body.n)) }()
	if res.StatusCode/100 != 2 {
		return readStatusError(op, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	enc, err := wire.FromContentType(res.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("%s: answer: %w", op, err)
	}
	if err := enc.ReadMessage(body, r.cfg.MaxMessageBytes, resp); err != nil {
		return fmt.Errorf("%s: answer: %w", op, err)
	}
	return nil
}

func readStatusError(op string, status int, ct string, body io.Reader) error {
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var m wire.Error
	if enc, err := wire.FromContentType(ct); err == nil && enc.Unmarshal(b, &m) == nil && m.Error != "" {
		return &StatusError{Op: op, Status: status, Msg: m.Error}
	}
	var j struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &j) == nil && j.Error != "" {
		return &StatusError{Op: op, Status: status, Msg: j.Error}
	}
	return &StatusError{Op: op, Status: status, Msg: http.StatusText(status)}
}

// fetchBlob streams one blob from a peer into the database, which checks
// its digest before keeping it.
func (r *Replicator) fetchBlob(ctx context.Context, peer, base, sha string) error {
	// An idle timer rather than a deadline: a connection that went silent
	// (a partition drops packets, it does not refuse) is abandoned, a slow
	// but moving transfer is not.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(r.cfg.BlobIdleTimeout, cancel)
	defer idle.Stop()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/replication/blobs/"+sha, nil)
	if err != nil {
		return fmt.Errorf("fetch blob: %w", err)
	}
	hreq.Header.Set(headerPeerID, r.cfg.ID)
	hreq.Header.Set(headerPeerURL, r.cfg.URL)
	res, err := r.hc.Do(hreq)
	if err != nil {
		return fmt.Errorf("fetch blob: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return fmt.Errorf("fetch blob %s from %s: %w", sha, r.peerLabel(peer), errBlobNotFound)
	}
	if res.StatusCode != http.StatusOK {
		return readStatusError("fetch blob", res.StatusCode, res.Header.Get("Content-Type"), res.Body)
	}
	body := &countingReader{r: res.Body, onRead: func() { idle.Reset(r.cfg.BlobIdleTimeout) }}
	err = r.db.PutBlob(ctx, body, sha)
	r.met.bytesReceived.WithLabelValues(r.peerLabel(peer)).Add(float64(body.n))
	if err != nil {
		return fmt.Errorf("store blob %s: %w", sha, err)
	}
	return nil
}

type countingReader struct {
	r      io.Reader
	n      int64
	onRead func() // if set, runs after each read that returned bytes
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 && c.onRead != nil {
		c.onRead()
	}
	return n, err
}
