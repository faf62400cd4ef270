package mux

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Duration is a time.Duration written in TOML as a string ("30s").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("mux: %w", err)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the multiplexor's whole configuration (xmppmux -config FILE).
type Config struct {
	Mux    Link        `toml:"mux"`
	Listen Listen      `toml:"listen"`
	Limits Limits      `toml:"limits"`
	Stats  StatsConfig `toml:"stats"`
}

// Link names the multiplexor and the server it serves.
type Link struct {
	// Name and Secret must match a [[mux.peer]] of the server.
	Name   string `toml:"name"`
	Secret string `toml:"secret"`
	// Server is the host:port of the server's mux port.
	Server string `toml:"server"`
	// ServerTLS wraps the link in TLS, verified against ServerCA (PEM;
	// the system roots when empty) for ServerName (Server's host when empty).
	ServerTLS  bool   `toml:"server_tls"`
	ServerCA   string `toml:"server_ca"`
	ServerName string `toml:"server_name"`
	// HandshakeTimeout bounds dialing, TLS and the XEP-0114 handshake.
	HandshakeTimeout Duration `toml:"handshake_timeout"`
	// ReconnectMax caps the exponential backoff between link attempts.
	ReconnectMax Duration `toml:"reconnect_max"`
	// KeepAlive is the interval of the link's yamux pings.
	KeepAlive Duration `toml:"keepalive"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `toml:"log_level"`
}

// Listen lists the client ports.
type Listen struct {
	// Plain ports pass bytes through untouched (STARTTLS end to end).
	Plain []string `toml:"plain"`
	// TLS ports terminate TLS at the multiplexor (XEP-0368) with Cert/Key.
	TLS  []string `toml:"tls"`
	Cert string   `toml:"cert"`
	Key  string   `toml:"key"`
	// TLSHandshakeTimeout bounds a client's TLS handshake.
	TLSHandshakeTimeout Duration `toml:"tls_handshake_timeout"`
}

// Limits bound what clients may cost.
type Limits struct {
	// MaxClients is the number of client connections at once; more are
	// accepted and closed at once.
	MaxClients int `toml:"max_clients"`
	// ClientBufferBytes is the per-client yamux window: the bytes buffered
	// for one client in each direction before its stream stops.
	ClientBufferBytes int `toml:"client_buffer_bytes"`
	// WriteTimeout closes a client whose socket accepts no bytes that long.
	WriteTimeout Duration `toml:"write_timeout"`
}

// StatsConfig configures observability.
type StatsConfig struct {
	// Listen serves GET /stats as JSON on that (loopback) address; "" disables.
	Listen string `toml:"listen"`
	// LogInterval logs the counters periodically; "0s" disables.
	LogInterval Duration `toml:"log_interval"`
}

// Default returns the defaults the config file is read over.
func Default() *Config {
	return &Config{
		Mux: Link{
			HandshakeTimeout: Duration{10 * time.Second},
			ReconnectMax:     Duration{30 * time.Second},
			KeepAlive:        Duration{10 * time.Second},
			LogLevel:         "info",
		},
		Listen: Listen{TLSHandshakeTimeout: Duration{10 * time.Second}},
		Limits: Limits{MaxClients: 10000, ClientBufferBytes: 256 << 10, WriteTimeout: Duration{60 * time.Second}},
		Stats:  StatsConfig{LogInterval: Duration{60 * time.Second}},
	}
}

// Load reads path over the defaults; unknown keys and invalid values are
// reported together, each with its key.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mux: %w", err)
	}
	return Parse(string(b), path)
}

// Parse decodes a config document; name is used in errors.
func Parse(doc, name string) (*Config, error) {
	c := Default()
	md, err := toml.Decode(doc, c)
	if err != nil {
		return nil, fmt.Errorf("mux: %s: %w", name, err)
	}
	var p problems
	for _, k := range md.Undecoded() {
		p.add(k.String(), "unknown key")
	}
	c.validate(&p)
	if err := p.err(); err != nil {
		return nil, fmt.Errorf("mux: %s:\n  %w", name, err)
	}
	return c, nil
}

// Validate checks every value and returns all problems at once.
func (c *Config) Validate() error {
	var p problems
	c.validate(&p)
	if err := p.err(); err != nil {
		return fmt.Errorf("mux: config:\n  %w", err)
	}
	return nil
}

func (c *Config) validate(p *problems) {
	if c.Mux.Name == "" || strings.ContainsAny(c.Mux.Name, "@/ '\"<>&") {
		p.add("mux.name", "%q is not a valid name", c.Mux.Name)
	}
	if c.Mux.Secret == "" {
		p.add("mux.secret", "must not be empty")
	}
	checkAddr(p, "mux.server", c.Mux.Server)
	if !c.Mux.ServerTLS && (c.Mux.ServerCA != "" || c.Mux.ServerName != "") {
		p.add("mux.server_tls", "server_ca and server_name need server_tls = true")
	}
	checkDur(p, "mux.handshake_timeout", c.Mux.HandshakeTimeout, time.Second, 5*time.Minute)
	checkDur(p, "mux.reconnect_max", c.Mux.ReconnectMax, time.Second, time.Hour)
	checkDur(p, "mux.keepalive", c.Mux.KeepAlive, time.Second, 10*time.Minute)
	switch c.Mux.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.add("mux.log_level", "%q is not one of debug, info, warn, error", c.Mux.LogLevel)
	}
	if len(c.Listen.Plain)+len(c.Listen.TLS) == 0 {
		p.add("listen.plain", "at least one plain or tls listener is required")
	}
	for _, a := range c.Listen.Plain {
		checkAddr(p, "listen.plain", a)
	}
	for _, a := range c.Listen.TLS {
		checkAddr(p, "listen.tls", a)
	}
	if len(c.Listen.TLS) > 0 && (c.Listen.Cert == "" || c.Listen.Key == "") {
		p.add("listen.cert", "tls listeners need cert and key")
	}
	checkDur(p, "listen.tls_handshake_timeout", c.Listen.TLSHandshakeTimeout, time.Second, 5*time.Minute)
	checkInt(p, "limits.max_clients", c.Limits.MaxClients, 1, 1<<20)
	checkInt(p, "limits.client_buffer_bytes", c.Limits.ClientBufferBytes, 256<<10, 64<<20)
	checkDur(p, "limits.write_timeout", c.Limits.WriteTimeout, time.Second, time.Hour)
	if c.Stats.Listen != "" {
		checkAddr(p, "stats.listen", c.Stats.Listen)
	}
	if c.Stats.LogInterval.Duration != 0 {
		checkDur(p, "stats.log_interval", c.Stats.LogInterval, time.Second, 24*time.Hour)
	}
}

type problems []string

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	sort.Strings(p)
	return errors.New(strings.Join(p, "\n  "))
}

func checkInt(p *problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(key, "%d is outside %d..%d", v, lo, hi)
	}
}

func checkDur(p *problems, key string, v Duration, lo, hi time.Duration) {
	if v.Duration < lo || v.Duration > hi {
		p.add(key, "%s is outside %s..%s", v.Duration, lo, hi)
	}
}

func checkAddr(p *problems, key, a string) {
	if _, _, err := net.SplitHostPort(a); err != nil {
		p.add(key, "%q: %v", a, err)
	}
}
