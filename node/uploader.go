package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"metacdn/wire"
)

// DefaultUploadChunk is how many content bytes one upload message carries.
const DefaultUploadChunk = 4 << 20

// Uploader sends files to a node with the upload protocol (POST
// /v1/upload), in chunks, so neither side holds a whole file in memory.
type Uploader struct {
	Server    string        // base URL of any node
	Encoding  wire.Encoding // JSON or Protobuf
	ChunkSize int           // content bytes per message; zero means DefaultUploadChunk
	Client    *http.Client  // nil means a client with a 2-minute timeout per message
	// Retries is how many times a failed chunk is resumed from the
	// server's received count before the upload fails.
	Retries int
	// Progress, if set, is called after each acknowledged message with the
	// bytes sent so far.
	Progress func(sent int64)
}

// UploadFile describes one file to send.
type UploadFile struct {
	Key         string
	ContentType string
	Meta        map[string]string
	Size        int64 // bytes Body will yield
	// Body is read twice when the file spans several messages (once to hash,
	// once to send) unless SHA256 is set, so it must be an io.ReadSeeker.
	Body   io.ReadSeeker
	SHA256 string // hex; computed from Body when empty
}

// ServerError is an answer of the server that was not a success.
type ServerError struct {
	Status  int
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Upload sends f and returns the stored object once the server committed it.
func (u *Uploader) Upload(ctx context.Context, f UploadFile) (*wire.Object, error) {
	chunk := int64(u.ChunkSize)
	if chunk <= 0 {
		chunk = DefaultUploadChunk
	}
	if f.SHA256 == "" {
		h := sha256.New()
		if _, err := io.Copy(h, f.Body); err != nil {
			return nil, fmt.Errorf("hash %s: %w", f.Key, err)
		}
		f.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	buf := make([]byte, min(chunk, max(f.Size, 1)))
	req := &wire.UploadRequest{Key: f.Key, ContentType: f.ContentType, Metadata: f.Meta, TotalSize: f.Size}
	var offset int64
	retries := u.Retries
	for {
		if _, err := f.Body.Seek(offset, io.SeekStart); err != nil {
			return nil, fmt.Errorf("seek %s: %w", f.Key, err)
		}
		n, err := io.ReadFull(f.Body, buf[:min(chunk, f.Size-offset)])
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: %w", f.Key, err)
		}
		req.Offset, req.Content = offset, buf[:n]
		req.Final = offset+int64(n) >= f.Size
		if req.Final {
			req.Sha256 = f.SHA256
		}
		resp, err := u.send(ctx, req)
		if err != nil {
			var se *ServerError
			if retries <= 0 || req.UploadId == "" || errors.As(err, &se) && se.Status < 500 && se.Status != http.StatusConflict {
				return nil, err
			}
			retries--
			// Resume where the server says it is: the message may have been
			// committed before the answer was lost.
			if offset, err = u.received(ctx, req.UploadId); err != nil {
				return nil, err
			}
			continue
		}
		if resp.UploadId != "" {
			req.UploadId = resp.UploadId
		}
		// Metadata travels in the first message only.
		req.Key, req.ContentType, req.Metadata = "", "", nil
		offset += int64(n)
		if u.Progress != nil {
			u.Progress(offset)
		}
		if req.Final {
			if resp.Object == nil {
				return nil, errors.New("server acknowledged the last chunk without the stored object")
			}
			return resp.Object, nil
		}
	}
}

func (u *Uploader) client() *http.Client {
	if u.Client != nil {
		return u.Client
	}
	return &http.Client{Timeout: 2 * time.Minute}
}

func (u *Uploader) send(ctx context.Context, m *wire.UploadRequest) (*wire.UploadResponse, error) {
	body, err := u.Encoding.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(u.Server, "/")+"/v1/upload", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", u.Encoding.ContentType())
	res, err := u.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if res.StatusCode >= 300 {
		return nil, &ServerError{Status: res.StatusCode, Message: errorMessage(b)}
	}
	enc, err := wire.FromContentType(res.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	var out wire.UploadResponse
	if err := enc.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	return &out, nil
}

func (u *Uploader) received(ctx context.Context, id string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(u.Server, "/")+"/v1/upload/"+id, nil)
	if err != nil {
		return 0, err
	}
	res, err := u.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return 0, &ServerError{Status: res.StatusCode, Message: errorMessage(b)}
	}
	var out wire.UploadResponse
	if err := wire.JSON.Unmarshal(b, &out); err != nil {
		return 0, fmt.Errorf("upload status: %w", err)
	}
	return out.Received, nil
}

// errorMessage reads {"error": "..."}, or returns the body as it is.
func errorMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(b))
}
