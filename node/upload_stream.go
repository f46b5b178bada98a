package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"metacdn/storage"
	"metacdn/wire"
)

// handleUploadStream appends a stream of UploadRequest messages to session
// id in one request: Protobuf messages framed by their varint length, or
// JSON messages one per line. Each message carries the next bytes at its
// offset; the last may be final, with the whole file's sha256. The server
// commits in batches while it reads, so the client never waits for an
// answer per message. The answer comes once: 201 with the object after a
// final message, 202 with the bytes received when the stream ended
// without one. After an error, GET /v1/upload/{id} tells where to resume:
// what the batches committed before it stays in the session.
func (n *Node) handleUploadStream(w http.ResponseWriter, r *http.Request) error {
	enc, err := wire.FromContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	ctx, cancel := n.sessionWait(r)
	sw, err := n.db.AppendStream(ctx, id)
	cancel()
	if err != nil {
		return err
	}
	defer sw.Close()
	body := n.idleBody(w, r)
	defer body.Close()
	msgs := wire.NewUploadReader(enc, bufio.NewReaderSize(body, 64<<10), n.cfg.MaxMessageBytes)
	var req wire.UploadRequest
	for {
		at := sw.Offset()
		clen, err := msgs.NextHead(&req)
		if err == io.EOF {
			break
		}
		if err != nil {
			return streamError(err)
		}
		if clen >= 0 {
			// A large Protobuf message's content goes from the socket
			// straight into the session's chunk buffers, saving a copy of
			// every byte. The writer holds it until the fields after it
			// are read and the message is checked.
			if err := sw.ReadContent(msgs.Content(), clen); err != nil {
				return streamError(err)
			}
			if err := msgs.EndMessage(&req); err != nil {
				return streamError(err)
			}
		}
		if req.UploadId != "" && req.UploadId != id {
			return errStatus(http.StatusBadRequest, "a streamed message names upload "+req.UploadId+", not "+id, nil)
		}
		if req.Offset != at {
			return errStatus(http.StatusConflict, "chunk out of order", storage.ErrOffsetMismatch)
		}
		if clen >= 0 {
			err = sw.Accept()
		} else {
			_, err = sw.Write(req.Content)
		}
		if err != nil {
			return err
		}
		if !req.Final {
			continue
		}
		if !isHexSHA256(req.Sha256) {
			return errNeedSHA
		}
		// Nothing may follow the final message: a client that sends more
		// is confused about where its file ends.
		if err := msgs.Next(&wire.UploadRequest{}); err != io.EOF {
			return errStatus(http.StatusBadRequest, "a message follows the final one", nil)
		}
		obj, err := sw.Finish(strings.ToLower(req.Sha256))
		if err != nil {
			return err
		}
		n.uploaded(obj)
		writeMessage(w, enc, http.StatusCreated, &wire.UploadResponse{UploadId: id, Received: obj.Size, Object: toWire(obj)})
		return nil
	}
	up, err := sw.Commit()
	if err != nil {
		return err
	}
	writeMessage(w, enc, http.StatusAccepted, &wire.UploadResponse{UploadId: up.ID, Received: up.Received})
	return nil
}

// sessionWait bounds how long a request waits for an earlier stream on
// the same session to end (storage.ErrSessionBusy). A stream whose
// client has gone ends within the body idle timeout, and then commits one
// last batch; a stream that outlives this still has a client sending.
func (n *Node) sessionWait(r *http.Request) (context.Context, context.CancelFunc) {
	wait := n.cfg.SessionWait
	if wait <= 0 {
		wait = n.bodyIdle() + 10*time.Second
	}
	return context.WithTimeout(r.Context(), wait)
}

func streamError(err error) error {
	if errors.Is(err, wire.ErrTruncated) {
		return errStatus(http.StatusBadRequest, "stream ends inside a message; the session keeps what was committed, GET /v1/upload/{id} tells where to resume", nil)
	}
	return bodyError(err)
}
