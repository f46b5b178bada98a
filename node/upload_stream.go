package node

import "net/http"

// handleUploadStream appends a stream of upload messages to a session.
func (n *Node) handleUploadStream(w http.ResponseWriter, r *http.Request) error {
	return errStatus(http.StatusNotImplemented, "streamed uploads are not served yet", nil)
}
