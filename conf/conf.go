// Package conf loads the TOML configuration of xmppd (BurntSushi/toml) into
// typed structs with defaults and bounds. Validate reports every problem with
// the key it concerns; unknown keys are an error, never silently ignored.
package conf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Duration is a time.Duration written in TOML as a string ("30s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole server configuration.
type Config struct {
	Server       Server       `toml:"server"`
	TLS          TLS          `toml:"tls"`
	C2S          C2S          `toml:"c2s"`
	Offline      Offline      `toml:"offline"`
	Directory    Directory    `toml:"directory"`
	Registration Registration `toml:"registration"`
	Mux          MuxServer    `toml:"mux"`
	Services     Services     `toml:"services"`

	// path is the file the config came from ("" for defaults); relative
	// paths in the config are resolved against the working directory.
	path string
}

// Server holds the identity of the server.
type Server struct {
	// Domains are the hosted domains (virtual hosts).
	Domains []string `toml:"domains"`
	// DataDir holds the embedded databases and the generated certificate.
	DataDir string `toml:"data_dir"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`
	// Admins are bare JIDs with administrative rights.
	Admins []string `toml:"admins"`
	// ShutdownTimeout bounds the drain on SIGTERM.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// PprofListen, when set, serves net/http/pprof on that address.
	PprofListen string `toml:"pprof_listen"`
	// GCPercent is the Go garbage collector's target (GOGC) unless the
	// GOGC environment variable is set: lower keeps less memory per
	// connection for a little more CPU.
	GCPercent int `toml:"gc_percent"`
	// AdminSocket is the unix socket of the admin channel (xmppctl);
	// "" means <data_dir>/xmppd.sock.
	AdminSocket string `toml:"admin_socket"`
}

// TLS configures certificates for every TLS listener.
type TLS struct {
	// Cert and Key are PEM files. When both are empty a self-signed
	// certificate for the hosted domains is generated in the data directory.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	// MinVersion is "1.2" or "1.3".
	MinVersion string `toml:"min_version"`
}

// C2S configures client-to-server streams.
type C2S struct {
	// Listen are STARTTLS listeners (RFC 6120), usually port 5222.
	Listen []string `toml:"listen"`
	// DirectTLSListen are XEP-0368 direct TLS listeners, usually 5223.
	DirectTLSListen []string `toml:"direct_tls_listen"`
	// RequireTLS refuses SASL and every stanza before STARTTLS.
	RequireTLS bool `toml:"require_tls"`
	// AllowPlainWithoutTLS offers SASL PLAIN on unencrypted streams (tests,
	// benchmarks behind a trusted network only).
	AllowPlainWithoutTLS bool `toml:"allow_plain_without_tls"`
	// NegotiationTimeout bounds the time from connect to a bound resource.
	NegotiationTimeout Duration `toml:"negotiation_timeout"`
	// IdleTimeout closes a stream that sent nothing (not even whitespace).
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxStanzaSize is the largest stanza accepted, in bytes.
	MaxStanzaSize int `toml:"max_stanza_size"`
	// QueueBytes bounds the bytes waiting to be written to one session;
	// above it the session is cut off as a slow consumer.
	QueueBytes int `toml:"queue_bytes"`
	// MaxResources caps the sessions bound at once by one account.
	MaxResources int `toml:"max_resources"`
	// MaxAuthFailures is the number of failed SASL attempts per stream.
	MaxAuthFailures int `toml:"max_auth_failures"`
	// SCRAMIterations is the PBKDF2 iteration count for new passwords.
	SCRAMIterations int `toml:"scram_iterations"`
}

// Offline configures XEP-0160 offline storage.
type Offline struct {
	// Quota is the number of stored messages per account; above it the
	// sender gets a service-unavailable error.
	Quota int `toml:"quota"`
}

// Services names the hosted service components.
type Services struct {
	// Conference is the MUC service domain ("" disables it).
	Conference string `toml:"conference"`
	// PubSub is the pubsub service domain ("" disables it).
	PubSub string `toml:"pubsub"`
}

// Default returns the built-in defaults used when no file is given.
func Default() *Config {
	return &Config{
		Server: Server{
			Domains:         []string{"localhost"},
			DataDir:         "./data",
			LogLevel:        "info",
			ShutdownTimeout: Duration{10 * time.Second},
			GCPercent:       50,
		},
		TLS: TLS{MinVersion: "1.2"},
		C2S: C2S{
			Listen:             []string{"127.0.0.1:5222"},
			DirectTLSListen:    []string{"127.0.0.1:5223"},
			RequireTLS:         true,
			NegotiationTimeout: Duration{30 * time.Second},
			IdleTimeout:        Duration{10 * time.Minute},
			MaxStanzaSize:      256 << 10,
			QueueBytes:         1 << 20,
			MaxResources:       10,
			MaxAuthFailures:    3,
			SCRAMIterations:    4096,
		},
		Offline:      Offline{Quota: 1000},
		Directory:    defaultDirectory(),
		Registration: defaultRegistration(),
		Mux:          defaultMuxServer(),
	}
}

// Load reads path over the defaults. Unknown keys and invalid values are
// reported together, each with its key.
func Load(path string) (*Config, error) {
	c := Default()
	c.path = path
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	md, err := toml.Decode(string(b), c)
	if err != nil {
		return nil, fmt.Errorf("conf: %s: %w", path, err)
	}
	var probs []string
	for _, k := range md.Undecoded() {
		probs = append(probs, fmt.Sprintf("%s: unknown key", k.String()))
	}
	if err := c.Validate(); err != nil {
		probs = append(probs, err.Error())
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("conf: %s:\n  %s", path, strings.Join(probs, "\n  "))
	}
	return c, nil
}

// LoadOrDefault loads path, or returns the defaults when path is "".
func LoadOrDefault(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return c, c.Validate()
	}
	return Load(path)
}

// Problems collects validation problems, each with its key.
type Problems []string

// Addf records one problem.
func (p *Problems) Addf(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

// Err returns the problems as one error, or nil.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	sort.Strings(p)
	return errors.New(strings.Join(p, "\n  "))
}

// Validate checks every value and returns all problems at once.
func (c *Config) Validate() error {
	var p Problems
	if len(c.Server.Domains) == 0 {
		p.Addf("server.domains", "at least one hosted domain is required")
	}
	seen := map[string]bool{}
	for _, d := range c.Server.Domains {
		if d == "" || strings.ContainsAny(d, "@/ ") {
			p.Addf("server.domains", "%q is not a domain", d)
		}
		if seen[d] {
			p.Addf("server.domains", "%q listed twice", d)
		}
		seen[d] = true
	}
	if c.Server.DataDir == "" {
		p.Addf("server.data_dir", "must not be empty")
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.Addf("server.log_level", "%q is not one of debug, info, warn, error", c.Server.LogLevel)
	}
	for _, a := range c.Server.Admins {
		if !strings.Contains(a, "@") || strings.Contains(a, "/") {
			p.Addf("server.admins", "%q is not a bare JID", a)
		}
	}
	if a := c.Server.AdminSocket; strings.ContainsRune(a, 0) || len(a) > MaxSocketPath {
		p.Addf("server.admin_socket", "%q: a unix socket path holds at most %d bytes", a, MaxSocketPath)
	}
	checkDur(&p, "server.shutdown_timeout", c.Server.ShutdownTimeout, time.Second, time.Hour)
	checkInt(&p, "server.gc_percent", c.Server.GCPercent, 10, 1000)
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		p.Addf("tls.cert", "cert and key must be given together")
	}
	if c.TLS.MinVersion != "1.2" && c.TLS.MinVersion != "1.3" {
		p.Addf("tls.min_version", "%q is not 1.2 or 1.3", c.TLS.MinVersion)
	}
	for _, a := range c.C2S.Listen {
		checkAddr(&p, "c2s.listen", a)
	}
	for _, a := range c.C2S.DirectTLSListen {
		checkAddr(&p, "c2s.direct_tls_listen", a)
	}
	checkDur(&p, "c2s.negotiation_timeout", c.C2S.NegotiationTimeout, time.Second, time.Hour)
	checkDur(&p, "c2s.idle_timeout", c.C2S.IdleTimeout, time.Second, 24*time.Hour)
	checkInt(&p, "c2s.max_stanza_size", c.C2S.MaxStanzaSize, 10<<10, 64<<20)
	checkInt(&p, "c2s.queue_bytes", c.C2S.QueueBytes, 64<<10, 1<<30)
	checkInt(&p, "c2s.max_resources", c.C2S.MaxResources, 1, 1000)
	checkInt(&p, "c2s.max_auth_failures", c.C2S.MaxAuthFailures, 1, 100)
	checkInt(&p, "c2s.scram_iterations", c.C2S.SCRAMIterations, 4096, 1000000)
	checkInt(&p, "offline.quota", c.Offline.Quota, 0, 1000000)
	c.Directory.validate(&p)
	c.Registration.validate(&p)
	c.Mux.validate(&p)
	return p.Err()
}

func checkInt(p *Problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		p.Addf(key, "%d is outside %d..%d", v, lo, hi)
	}
}

func checkDur(p *Problems, key string, v Duration, lo, hi time.Duration) {
	if v.Duration < lo || v.Duration > hi {
		p.Addf(key, "%s is outside %s..%s", v.Duration, lo, hi)
	}
}

func checkAddr(p *Problems, key, a string) {
	if _, _, err := net.SplitHostPort(a); err != nil {
		p.Addf(key, "%q: %v", a, err)
	}
}

// MaxSocketPath is the longest unix socket path Linux accepts (sun_path
// holds 108 bytes with the terminating NUL).
const MaxSocketPath = 107

// AdminSocketPath returns server.admin_socket, or <data_dir>/xmppd.sock
// when it is empty.
func (c *Config) AdminSocketPath() string {
	if c.Server.AdminSocket != "" {
		return c.Server.AdminSocket
	}
	return c.DataPath("xmppd.sock")
}

// Path returns a path from the config resolved against the data directory
// when it is relative and dataRelative is true.
func (c *Config) DataPath(name string) string {
	return filepath.Join(c.Server.DataDir, name)
}
