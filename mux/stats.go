package mux

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
)

// Stats is a snapshot of the multiplexor's counters (GET /stats).
type Stats struct {
	Name      string    `json:"name"`
	Server    string    `json:"server"`
	Connected bool      `json:"connected"`
	LinkSince time.Time `json:"link_since,omitzero"`
	// Clients is the number connected now, ClientsTotal since start.
	Clients      int64  `json:"clients"`
	ClientsTotal uint64 `json:"clients_total"`
	// RefusedNoLink counts clients closed because the link was down,
	// RefusedFull those above limits.max_clients.
	RefusedNoLink uint64 `json:"refused_no_link"`
	RefusedFull   uint64 `json:"refused_full"`
	// BytesUp is client -> server, BytesDown server -> client.
	BytesUp   uint64 `json:"bytes_up"`
	BytesDown uint64 `json:"bytes_down"`
	// LinksUp counts successful link handshakes, Reconnects those after
	// the first, LinkDrops lost links, ConnectFailures failed attempts.
	LinksUp         uint64 `json:"links_up"`
	Reconnects      uint64 `json:"reconnects"`
	LinkDrops       uint64 `json:"link_drops"`
	ConnectFailures uint64 `json:"connect_failures"`
	// WriteTimeouts counts clients cut off for not reading.
	WriteTimeouts uint64 `json:"write_timeouts"`
}

// Stats returns the current counters.
func (m *Mux) Stats() Stats {
	s := Stats{
		Name: m.cfg.Mux.Name, Server: m.cfg.Mux.Server, Connected: m.Connected(),
		Clients: m.ctr.clients.Load(), ClientsTotal: m.ctr.clientsTotal.Load(),
		RefusedNoLink: m.ctr.refusedNoLink.Load(), RefusedFull: m.ctr.refusedFull.Load(),
		BytesUp: m.ctr.bytesUp.Load(), BytesDown: m.ctr.bytesDown.Load(),
		LinksUp: m.ctr.linksUp.Load(), Reconnects: m.ctr.reconnects.Load(),
		LinkDrops: m.ctr.linkDrops.Load(), ConnectFailures: m.ctr.connectFailures.Load(),
		WriteTimeouts: m.ctr.writeTimeouts.Load(),
	}
	if s.Connected {
		s.LinkSince = time.Unix(0, m.ctr.linkSince.Load())
	}
	return s
}

// startStats starts the /stats endpoint and the periodic log line; the
// returned func stops both.
func (m *Mux) startStats(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var srv *http.Server
	if a := m.cfg.Stats.Listen; a != "" {
		ln := m.statsLn
		mux := http.NewServeMux()
		mux.HandleFunc("GET /stats", m.serveStats)
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		m.goTracked(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("mux stats endpoint", "err", err)
			}
		})
	}
	if iv := m.cfg.Stats.LogInterval.Duration; iv > 0 {
		m.goTracked(func() { m.logStats(ctx, iv) })
	}
	return func() {
		cancel()
		if srv != nil {
			_ = srv.Close() // only listener errors, already logged by Serve
		}
	}, nil
}

// StatsAddr is the bound address of the stats endpoint (nil when off).
func (m *Mux) StatsAddr() net.Addr {
	if m.statsLn == nil {
		return nil
	}
	return m.statsLn.Addr()
}

func (m *Mux) serveStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m.Stats()); err != nil {
		m.log.Debug("mux stats write", "err", err)
	}
}

func (m *Mux) logStats(ctx context.Context, iv time.Duration) {
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := m.Stats()
		m.log.Info("mux stats", "connected", s.Connected, "clients", s.Clients,
			"clients_total", s.ClientsTotal, "bytes_up", s.BytesUp, "bytes_down", s.BytesDown,
			"reconnects", s.Reconnects, "link_drops", s.LinkDrops,
			"refused_no_link", s.RefusedNoLink, "refused_full", s.RefusedFull)
	}
}
