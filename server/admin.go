package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/mux/link"
)

// The admin channel is HTTP with JSON bodies on a unix socket (mode 0600):
// only the server's own user (and root) can reach it, so it carries no
// authentication of its own. xmppctl is its client.

// Admin endpoints.
const (
	AdminPathSessions = "/sessions"
	AdminPathStats    = "/stats"
	AdminPathMux      = "/mux"
	AdminPathFlush    = "/directory/flush"
)

// ErrNoDirectoryCache is the answer to a flush when the directory has no
// cache (the embedded backend reads its database every time).
var ErrNoDirectoryCache = errors.New("server: the directory has no cache to flush")

// AdminHooks are the parts of the admin channel that live outside package
// server: cmd/xmppd fills them from the multiplexor port and the directory
// cache, so that server does not import the directory backends. Every
// field is optional.
type AdminHooks struct {
	// Mux returns the per-link statistics; nil when the mux port is off.
	Mux func() []link.LinkStats
	// DirectoryStats returns the directory cache counters; nil without a cache.
	DirectoryStats func() DirectoryStats
	// FlushDirectory empties the directory cache; nil without a cache.
	FlushDirectory func()
}

// DirectoryStats are the counters of a cached remote directory (LDAP).
type DirectoryStats struct {
	Backend     string  `json:"backend"`
	CacheHits   uint64  `json:"cache_hits"`
	CacheMisses uint64  `json:"cache_misses"`
	HitRatio    float64 `json:"hit_ratio"`
	// Operations sent to the LDAP server since the start.
	Searches   int64 `json:"ldap_searches"`
	Binds      int64 `json:"ldap_binds"`
	Writes     int64 `json:"ldap_writes"`
	Dials      int64 `json:"ldap_dials"`
	DialErrors int64 `json:"ldap_dial_errors"`
}

// AdminStats is the answer to GET /stats.
type AdminStats struct {
	Version   string           `json:"version"`
	Started   time.Time        `json:"started"`
	Server    Stats            `json:"server"`
	Mux       []link.LinkStats `json:"mux,omitempty"`
	Directory *DirectoryStats  `json:"directory,omitempty"`
}

// MuxStatus is the answer to GET /mux.
type MuxStatus struct {
	Enabled bool             `json:"enabled"`
	Links   []link.LinkStats `json:"links"`
}

// FlushResult is the answer to POST /directory/flush: the counters just
// before the flush.
type FlushResult struct {
	Flushed bool           `json:"flushed"`
	Before  DirectoryStats `json:"before"`
}

// AdminError is the body of every answer that is not 200.
type AdminError struct {
	Error string `json:"error"`
}

// ServeAdmin serves the admin channel on the unix socket path until
// Shutdown, which closes it first (with the other listeners) and removes
// the socket file. A stale socket left by a killed server is replaced; a
// live one (another server answers on it) makes ServeAdmin fail.
func (s *Server) ServeAdmin(path string, extra AdminHooks) error {
	ln, err := listenAdmin(path)
	if err != nil {
		return err
	}
	if !s.addListener(ln) {
		_ = ln.Close()
		return errors.New("server: shutting down")
	}
	hs := &http.Server{
		Handler:           s.adminHandler(extra),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("admin socket listening", "path", path)
	s.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin socket", "err", err)
		}
		// Serve returns when Shutdown closed the listener; drop the
		// connections xmppctl may still hold open.
		if err := hs.Close(); err != nil {
			s.log.Warn("closing admin connections", "err", err)
		}
	})
	return nil
}

// listenAdmin creates the socket under a temporary name, restricts it to
// mode 0600, then renames it into place, so that it is never reachable
// with the umask's looser mode.
func listenAdmin(path string) (net.Listener, error) {
	if len(path) > conf.MaxSocketPath {
		return nil, fmt.Errorf("server: admin socket %s: longer than %d bytes (set server.admin_socket)", path, conf.MaxSocketPath)
	}
	if err := clearStaleSocket(path); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".xmppd-%d-%x.sock", os.Getpid(), rand.Uint32()))
	if len(tmp) > conf.MaxSocketPath {
		tmp = path // no room for the temporary name: chmod in place
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("server: admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	al := &adminListener{UnixListener: ln, path: tmp}
	if err := os.Chmod(tmp, 0o600); err != nil {
		_ = al.Close()
		return nil, fmt.Errorf("server: admin socket: %w", err)
	}
	if tmp != path {
		if err := os.Rename(tmp, path); err != nil {
			_ = al.Close()
			return nil, fmt.Errorf("server: admin socket: %w", err)
		}
		al.path = path
	}
	return al, nil
}

// clearStaleSocket removes a socket file nobody listens on. It refuses to
// touch anything that is not a socket, or a socket a live server answers.
func clearStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("server: admin socket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("server: admin socket %s: exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("server: admin socket %s: another server is running (it answers on the socket)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("server: admin socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("server: admin socket: removing the stale socket: %w", err)
	}
	return nil
}

// adminListener removes its socket file when closed.
type adminListener struct {
	*net.UnixListener
	path string
}

func (l *adminListener) Close() error {
	err := l.UnixListener.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = fmt.Errorf("server: admin socket: %w", rerr)
	}
	return err
}

func (s *Server) adminHandler(h AdminHooks) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+AdminPathSessions, func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, http.StatusOK, s.Sessions())
	})
	mux.HandleFunc("GET "+AdminPathStats, func(w http.ResponseWriter, r *http.Request) {
		st := AdminStats{Version: Version, Started: s.started, Server: s.Stats()}
		if h.Mux != nil {
			st.Mux = h.Mux()
		}
		if h.DirectoryStats != nil {
			d := h.DirectoryStats()
			st.Directory = &d
		}
		s.writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET "+AdminPathMux, func(w http.ResponseWriter, r *http.Request) {
		st := MuxStatus{Enabled: h.Mux != nil, Links: []link.LinkStats{}}
		if h.Mux != nil {
			st.Links = h.Mux()
		}
		s.writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST "+AdminPathFlush, func(w http.ResponseWriter, r *http.Request) {
		if h.FlushDirectory == nil {
			s.writeJSON(w, http.StatusConflict, AdminError{Error: ErrNoDirectoryCache.Error()})
			return
		}
		var res FlushResult
		if h.DirectoryStats != nil {
			res.Before = h.DirectoryStats()
		}
		h.FlushDirectory()
		res.Flushed = true
		s.log.Info("directory cache flushed", "by", "admin socket")
		s.writeJSON(w, http.StatusOK, res)
	})
	return mux
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.log.Debug("admin answer not sent", "err", err)
	}
}
