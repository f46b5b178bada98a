package replication

import (
	"maps"
	"time"

	"metacdn/storage"
	"metacdn/wire"
)

func entryToWire(e storage.LogEntry) *wire.LogEntry {
	w := &wire.LogEntry{
		Origin:      e.Origin,
		Seq:         e.Seq,
		Key:         e.Key,
		Version:     e.Version,
		Sha256:      e.SHA256,
		Deleted:     e.Deleted,
		Size:        e.Size,
		ContentType: e.ContentType,
		Metadata:    maps.Clone(e.Meta),
	}
	if !e.Modified.IsZero() {
		w.ModifiedUnixNano = e.Modified.UnixNano()
	}
	return w
}

func entryFromWire(w *wire.LogEntry) storage.LogEntry {
	e := storage.LogEntry{
		Origin:      w.GetOrigin(),
		Seq:         w.GetSeq(),
		Key:         w.GetKey(),
		Version:     w.GetVersion(),
		SHA256:      w.GetSha256(),
		Deleted:     w.GetDeleted(),
		Size:        w.GetSize(),
		ContentType: w.GetContentType(),
		Meta:        maps.Clone(w.GetMetadata()),
	}
	if n := w.GetModifiedUnixNano(); n != 0 {
		e.Modified = time.Unix(0, n).UTC()
	}
	return e
}

func rowToWire(p storage.Peer) *wire.Peer {
	return &wire.Peer{Id: p.ID, Url: p.URL, Provider: p.Provider, Version: p.Version, Removed: p.Removed}
}

func rowFromWire(p *wire.Peer) storage.Peer {
	return storage.Peer{ID: p.GetId(), URL: p.GetUrl(), Provider: p.GetProvider(), Version: p.GetVersion(), Removed: p.GetRemoved()}
}
