package replication

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"metacdn/storage"
	"metacdn/wire"
)

// maxPeerBody bounds an admin peer request.
const maxPeerBody = 1 << 20

// PeerRoutes serves the peer API; node mounts it at /v1/peers. admin wraps
// the routes that change membership (nil: no check).
//
//	GET    /       the peer list (wire.PeerList as JSON, or Protobuf if asked)
//	PUT    /       admin: replace the list: {"peers":[{"url":…}|{"id":…,"url":…,"provider":…}]}
//	POST   /       admin: add one: {"url":…} with optional id and provider
//	DELETE /{id}   admin: remove one
//
// Changes spread to the other servers by heartbeat.
func (r *Replicator) PeerRoutes(admin func(http.Handler) http.Handler) http.Handler {
	if admin == nil {
		admin = func(h http.Handler) http.Handler { return h }
	}
	rt := chi.NewRouter()
	rt.Get("/", r.handle(r.handleListPeers))
	rt.With(admin).Put("/", r.handle(r.handleReplacePeers))
	rt.With(admin).Post("/", r.handle(r.handleAddPeer))
	rt.With(admin).Delete("/{id}", r.handle(r.handleRemovePeer))
	return rt
}

// PeerInfo is one server in GET /v1/peers. Unlike the protobuf JSON of
// wire.Peer, zero lags and an empty last_heartbeat are written out.
type PeerInfo struct {
	ID            string            `json:"id"`
	URL           string            `json:"url"`
	Provider      string            `json:"provider"`
	State         string            `json:"state,omitempty"`
	LastHeartbeat string            `json:"last_heartbeat"`
	Version       uint64            `json:"version,omitempty"`
	Heads         map[string]uint64 `json:"heads,omitempty"`
	LagEntries    uint64            `json:"lag_entries"`
	LagSeconds    float64           `json:"lag_seconds"`
}

// SelfInfo is this server in GET /v1/peers.
type SelfInfo struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Provider string `json:"provider"`
	Version  uint64 `json:"version,omitempty"`
	Removed  bool   `json:"removed,omitempty"`
}

// PeerList is the JSON body of GET /v1/peers.
type PeerList struct {
	Self  SelfInfo   `json:"self"`
	Peers []PeerInfo `json:"peers"`
}

// Peers returns the current peer list: live members sorted by id, then
// servers known only by URL (with an empty id). Removed servers are left out.
func (r *Replicator) Peers() PeerList {
	now := r.cfg.Clock()
	r.mu.Lock()
	defer r.mu.Unlock()
	pl := PeerList{
		Self:  SelfInfo{ID: r.self.ID, URL: r.cfg.URL, Provider: r.cfg.Provider, Version: r.self.Version, Removed: r.self.Removed},
		Peers: []PeerInfo{},
	}
	for _, id := range slices.Sorted(maps.Keys(r.members)) {
		m := r.members[id]
		if m.row.Removed {
			continue
		}
		pi := PeerInfo{
			ID: id, URL: m.row.URL, Provider: m.row.Provider, Version: m.row.Version,
			State: r.stateOf(m.lastHeard, m.tracked, now), Heads: maps.Clone(m.heads),
			LagEntries: m.lagEntries, LagSeconds: m.lagSeconds,
		}
		if !m.lastHeard.IsZero() {
			pi.LastHeartbeat = m.lastHeard.UTC().Format(time.RFC3339Nano)
		}
		pl.Peers = append(pl.Peers, pi)
	}
	for _, u := range slices.Sorted(maps.Keys(r.pending)) {
		p := r.pending[u]
		pl.Peers = append(pl.Peers, PeerInfo{URL: u, State: r.stateOf(p.lastHeard, p.tracked, now)})
	}
	return pl
}

func (pl PeerList) toWire() *wire.PeerList {
	out := &wire.PeerList{Self: &wire.Peer{Id: pl.Self.ID, Url: pl.Self.URL, Provider: pl.Self.Provider,
		Version: pl.Self.Version, Removed: pl.Self.Removed}}
	for _, p := range pl.Peers {
		out.Peers = append(out.Peers, &wire.Peer{Id: p.ID, Url: p.URL, Provider: p.Provider, State: p.State,
			LastHeartbeat: p.LastHeartbeat, Version: p.Version, Heads: p.Heads, LagEntries: p.LagEntries,
			LagSeconds: p.LagSeconds})
	}
	return out
}

// writePeers answers the peer list as JSON, or as Protobuf when the
// client asks for it by Accept.
func (r *Replicator) writePeers(w http.ResponseWriter, req *http.Request, status int) error {
	pl := r.Peers()
	if acceptsProtobuf(req.Header.Get("Accept")) {
		writeMessage(w, wire.Protobuf, status, pl.toWire())
		return nil
	}
	b, err := json.Marshal(pl)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", wire.ContentTypeJSON)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

func acceptsProtobuf(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil {
			if enc, err := wire.FromContentType(mt); err == nil && enc == wire.Protobuf {
				return true
			}
		}
	}
	return false
}

func (r *Replicator) handleListPeers(w http.ResponseWriter, req *http.Request) error {
	return r.writePeers(w, req, http.StatusOK)
}

func decodeAdmin(req *http.Request, pl *wire.PeerList, one *wire.Peer) error {
	enc := wire.JSON
	if e, err := wire.FromContentType(req.Header.Get("Content-Type")); err == nil {
		enc = e
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxPeerBody+1))
	if err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "read body", cause: err}
	}
	if len(b) > maxPeerBody {
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: "body over 1 MiB"}
	}
	if pl != nil {
		err = enc.Unmarshal(b, pl)
	} else {
		err = enc.Unmarshal(b, one)
	}
	if err != nil {
		return &httpError{status: http.StatusBadRequest, msg: `want {"peers":[{"url":"http://HOST:PORT"}]} or {"url":"http://HOST:PORT"}`, cause: err}
	}
	if pl != nil && enc == wire.JSON && !hasList(b, "peers") {
		// A replacement removes every peer it does not name, so a body
		// that names no list ({} or "peers": null) must not pass for an
		// empty one: that takes an explicit [].
		return &httpError{status: http.StatusBadRequest, msg: `want {"peers":[...]}; [] removes every peer`}
	}
	return nil
}

// hasList reports whether the JSON object b has field name holding an
// array. b has already been decoded, so it is a JSON object.
func hasList(b []byte, name string) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return false
	}
	v := bytes.TrimSpace(fields[name])
	return len(v) > 0 && v[0] == '['
}

// checkAdminPeer validates one peer of an admin body.
func (r *Replicator) checkAdminPeer(p *wire.Peer) error {
	p.Url = strings.TrimRight(strings.TrimSpace(p.GetUrl()), "/")
	if err := checkURL(p.Url); err != nil {
		return &httpError{status: http.StatusBadRequest, msg: "bad peer", cause: err}
	}
	if strings.ContainsAny(p.GetId(), "/ \t\n") {
		return &httpError{status: http.StatusBadRequest, msg: "peer id must not contain slashes or spaces"}
	}
	if p.GetId() == r.cfg.ID || (p.GetId() == "" && p.Url == r.cfg.URL) {
		return &httpError{status: http.StatusBadRequest, msg: "bad peer", cause: ErrSelf}
	}
	return nil
}

// addLocked adds or updates one peer as an admin asked, and reports the
// id it is known by ("" while only its URL is known).
func (r *Replicator) addLocked(p *wire.Peer) (string, error) {
	if p.GetId() == "" {
		if m := r.memberByURLLocked(p.Url, false); m != nil {
			return m.row.ID, nil
		}
		if _, ok := r.pending[p.Url]; !ok {
			r.pending[p.Url] = &pendingPeer{url: p.Url, explicit: true, tracked: r.cfg.Clock()}
		} else {
			r.pending[p.Url].explicit = true
		}
		return "", nil
	}
	row := storage.Peer{ID: p.GetId(), URL: p.Url, Provider: p.GetProvider()}
	if m, ok := r.members[row.ID]; ok {
		if row.Provider == "" {
			row.Provider = m.row.Provider
		}
		if !m.row.Removed && m.row.URL == row.URL && m.row.Provider == row.Provider {
			return row.ID, nil
		}
	}
	row.Version = r.clock.Now()
	if _, err := r.mergeLocked(row); err != nil {
		return "", err
	}
	return row.ID, nil
}

func (r *Replicator) removeLocked(id string) error {
	m, ok := r.members[id]
	if !ok || m.row.Removed {
		return ErrUnknownPeer
	}
	row := m.row
	row.Removed = true
	row.Version = r.clock.Now()
	_, err := r.mergeLocked(row)
	return err
}

func (r *Replicator) handleAddPeer(w http.ResponseWriter, req *http.Request) error {
	var p wire.Peer
	if err := decodeAdmin(req, nil, &p); err != nil {
		return err
	}
	if err := r.checkAdminPeer(&p); err != nil {
		return err
	}
	r.mu.Lock()
	_, err := r.addLocked(&p)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	wake(r.hbWake)
	return r.writePeers(w, req, http.StatusCreated)
}

func (r *Replicator) handleReplacePeers(w http.ResponseWriter, req *http.Request) error {
	var pl wire.PeerList
	if err := decodeAdmin(req, &pl, nil); err != nil {
		return err
	}
	var list []*wire.Peer
	for _, p := range pl.GetPeers() {
		if err := r.checkAdminPeer(p); err != nil {
			// The same list is often sent to every server: skip this one.
			if p.GetId() == r.cfg.ID || p.GetUrl() == r.cfg.URL {
				continue
			}
			return err
		}
		list = append(list, p)
	}
	r.mu.Lock()
	keepIDs, keepURLs := map[string]bool{}, map[string]bool{}
	var err error
	for _, p := range list {
		var id string
		if id, err = r.addLocked(p); err != nil {
			break
		}
		if id != "" {
			keepIDs[id] = true
		} else {
			keepURLs[p.Url] = true
		}
	}
	if err == nil {
		for id, m := range r.members {
			if !m.row.Removed && !keepIDs[id] {
				if err = r.removeLocked(id); err != nil {
					break
				}
			}
		}
		for u := range r.pending {
			if !keepURLs[u] {
				delete(r.pending, u)
			}
		}
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	wake(r.hbWake)
	return r.writePeers(w, req, http.StatusOK)
}

func (r *Replicator) handleRemovePeer(w http.ResponseWriter, req *http.Request) error {
	id := chi.URLParam(req, "id")
	if id == r.cfg.ID {
		return &httpError{status: http.StatusBadRequest, msg: "cannot remove this server from itself; ask another server", cause: ErrSelf}
	}
	r.mu.Lock()
	err := r.removeLocked(id)
	r.mu.Unlock()
	if errors.Is(err, ErrUnknownPeer) {
		return &httpError{status: http.StatusNotFound, msg: "no peer " + id, cause: err}
	}
	if err != nil {
		return err
	}
	wake(r.hbWake)
	return r.writePeers(w, req, http.StatusOK)
}
