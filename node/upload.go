package node

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"metacdn/storage"
	"metacdn/wire"
)

// handleUpload takes one message of the upload program's protocol (see
// wire.UploadRequest). It answers in the request's encoding: 201 with the
// object once the final message is committed, 202 with the session's
// progress before that.
func (n *Node) handleUpload(w http.ResponseWriter, r *http.Request) error {
	enc, err := wire.FromContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	var req wire.UploadRequest
	body := n.idleBody(w, r)
	defer body.Close()
	if err := enc.ReadMessage(body, n.cfg.MaxMessageBytes, &req); err != nil {
		return bodyError(err)
	}
	if req.Final && !isHexSHA256(req.Sha256) {
		return errNeedSHA
	}
	req.Sha256 = strings.ToLower(req.Sha256)

	if req.UploadId == "" {
		if req.Offset != 0 {
			return errStatus(http.StatusConflict, "a new upload starts at offset 0; send upload_id to continue a session", nil)
		}
		if req.Final {
			return n.uploadWhole(r.Context(), w, enc, &req)
		}
		up, err := n.db.BeginUpload(req.Key, contentTypeOf(req.ContentType, req.Key), req.Metadata, req.TotalSize)
		if err != nil {
			return err
		}
		if len(req.Content) == 0 {
			// An opening message with no bytes (a streamed upload starts
			// so): one commit, not two.
			writeMessage(w, enc, http.StatusAccepted, &wire.UploadResponse{UploadId: up.ID})
			return nil
		}
		req.UploadId = up.ID
	}
	up, err := n.db.AppendUpload(req.UploadId, req.Offset, req.Content)
	if err != nil {
		return err
	}
	if !req.Final {
		writeMessage(w, enc, http.StatusAccepted, &wire.UploadResponse{UploadId: up.ID, Received: up.Received})
		return nil
	}
	obj, err := n.db.FinishUpload(up.ID, req.Sha256)
	if err != nil {
		return err
	}
	n.uploaded(obj)
	writeMessage(w, enc, http.StatusCreated, &wire.UploadResponse{UploadId: up.ID, Received: obj.Size, Object: toWire(obj)})
	return nil
}

// uploadWhole stores a file that came in one message.
func (n *Node) uploadWhole(ctx context.Context, w http.ResponseWriter, enc wire.Encoding, req *wire.UploadRequest) error {
	obj, err := n.db.Put(ctx, storage.PutRequest{
		Key:         req.Key,
		ContentType: contentTypeOf(req.ContentType, req.Key),
		Meta:        req.Metadata,
		Body:        bytes.NewReader(req.Content),
		SHA256:      req.Sha256,
	})
	if err != nil {
		return err
	}
	n.uploaded(obj)
	writeMessage(w, enc, http.StatusCreated, &wire.UploadResponse{Received: obj.Size, Object: toWire(obj)})
	return nil
}

func (n *Node) uploaded(obj storage.Object) {
	n.met.uploaded.Add(float64(obj.Size))
	n.images.afterUpload(obj)
}

// handleUploadStatus tells a client where to resume a session. A client
// asks right after its stream broke, often before the server has seen
// the break, so the answer waits for that stream's last commit.
func (n *Node) handleUploadStatus(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := n.sessionWait(r)
	defer cancel()
	up, err := n.db.SettledUpload(ctx, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, &wire.UploadResponse{UploadId: up.ID, Received: up.Received})
	return nil
}

func (n *Node) handleUploadAbort(w http.ResponseWriter, r *http.Request) error {
	if err := n.db.AbortUpload(chi.URLParam(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errNeedSHA = errStatus(http.StatusBadRequest, "the final message needs sha256: the whole file's SHA-256 as 64 hex digits", nil)

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
