// Command xmppbench is a load generator for XMPP servers (RFC 6120, RFC 6121),
// in the spirit of tsung and amoc: it logs in real sessions over TCP
// (plaintext, STARTTLS or direct TLS; SASL PLAIN or SCRAM), sends stamped
// chat messages and measures login rates, delivery and latency, and the
// server's memory per connection. Each run prints JSON lines on stdout (one
// per step and one for the run) and a human summary on stderr.
//
// Scenarios: login (stepped arrival rate), chat (N users messaging at a
// fixed rate), saturate (stepped total message rate), idle (memory per
// connection). See docs/performance.md for the method.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// options are the command-line flags.
type options struct {
	scenario, addr, domain, password, prefix, label string
	users, first, pid                               int
	sources, tlsMode, mech, resource, arrivals      string
	insecure, roster, noDelay, scramCache           bool
	timeout                                         time.Duration
	rates                                           []float64
	step, hold, pause, arrival, interval, linger    time.Duration
	warmup, settle, p95Limit, p99Limit              time.Duration
	msgs, size, readBuf                             int
	okRatio, minDelivered                           float64
	cpuProfile                                      string
}

var defaultRates = map[string]string{
	"login":    "50,100,150,200,250,300,400,600,800,1000,1200,1600,2000,2400,3200",
	"saturate": "2000,3000,4000,6000,8000,10000,12000,16000,24000,32000",
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("xmppbench", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "chat", "login | chat | saturate | idle")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:5222", "server address (host:port)")
	fs.StringVar(&o.domain, "domain", "localhost", "XMPP domain of the accounts")
	fs.IntVar(&o.users, "users", 2000, "number of accounts/users N (prefix1..prefixN)")
	fs.IntVar(&o.first, "first", 1, "number of the first account")
	fs.StringVar(&o.password, "password", "pw", "password of every account")
	fs.StringVar(&o.prefix, "user-prefix", "user", "account name prefix")
	fs.StringVar(&o.label, "label", "", "server name in the results (default: addr)")
	fs.StringVar(&o.sources, "sources", "127.0.0.1", "comma-separated local source addresses")
	fs.StringVar(&o.tlsMode, "tls", "none", "none | starttls | direct")
	fs.BoolVar(&o.insecure, "insecure", false, "skip certificate verification")
	fs.StringVar(&o.mech, "mech", "PLAIN", "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-1 | auto")
	fs.BoolVar(&o.scramCache, "scram-cache", true, "SCRAM: cache the keys derived from the salted password per user, salt and iterations, as real clients do (false: mellium's client, PBKDF2 on every login)")
	fs.BoolVar(&o.noDelay, "nodelay", true, "TCP_NODELAY on the client sockets (false: Nagle, like Erlang's gen_tcp default in tsung)")
	fs.BoolVar(&o.roster, "roster", true, "get the roster after bind (tsung's login scenario does not)")
	fs.StringVar(&o.resource, "resource", "bench", "resource to bind ('' lets the server pick)")
	fs.StringVar(&o.arrivals, "arrivals", "poisson", "arrival process: poisson (like tsung) | uniform")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of a login")
	rates := fs.String("rates", "", "login: logins/s per step; saturate: total msg/s per step (comma-separated)")
	fs.DurationVar(&o.step, "step", 15*time.Second, "login/saturate: duration of a step (measured part)")
	fs.DurationVar(&o.hold, "hold", time.Second, "login: time a user stays online; idle: time all stay connected")
	fs.DurationVar(&o.pause, "pause", 5*time.Second, "login/saturate: pause between steps")
	fs.DurationVar(&o.arrival, "arrival", 20*time.Second, "chat/saturate/idle: arrival window of the N users")
	fs.IntVar(&o.msgs, "msgs", 60, "chat: messages per user")
	fs.DurationVar(&o.interval, "interval", time.Second, "chat: time between a user's messages")
	fs.IntVar(&o.size, "size", 64, "message body bytes (stamp + padding)")
	fs.DurationVar(&o.linger, "linger", 5*time.Second, "chat/saturate: wait after the last message")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "saturate: unmeasured sending before each step")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "saturate/idle: pause after the arrivals")
	fs.DurationVar(&o.p95Limit, "p95-limit", 500*time.Millisecond, "login: a step keeps up when login p95 <= this")
	fs.Float64Var(&o.okRatio, "ok-ratio", 0.99, "login: ... and this share of arrived users logged in")
	fs.DurationVar(&o.p99Limit, "p99-limit", 100*time.Millisecond, "saturate: a step passes when p99 < this")
	fs.Float64Var(&o.minDelivered, "min-delivered", 0.999, "saturate: ... and this share was delivered")
	fs.IntVar(&o.pid, "pid", 0, "server PID: its CPU and RSS are read from /proc (idle needs it)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this file")
	fs.IntVar(&o.readBuf, "read-buf", 4096, "read buffer per connection (bytes)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *rates == "" {
		*rates = defaultRates[o.scenario]
	}
	for _, r := range strings.Split(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("xmppbench: bad rate %q", r)
		}
		o.rates = append(o.rates, v)
	}
	if o.label == "" {
		o.label = o.addr
	}
	return o, o.validate()
}

func (o *options) validate() error {
	var errs []string
	switch o.scenario {
	case "login", "chat", "saturate", "idle":
	default:
		errs = append(errs, "unknown -scenario "+o.scenario)
	}
	if o.users < 2 {
		errs = append(errs, "-users must be >= 2")
	}
	if (o.scenario == "login" || o.scenario == "saturate") && len(o.rates) == 0 {
		errs = append(errs, "-rates is empty")
	}
	if o.scenario == "idle" && o.pid <= 0 {
		errs = append(errs, "idle needs -pid of the server")
	}
	if o.size < 32 {
		errs = append(errs, "-size must be >= 32 (the stamp)")
	}
	if len(errs) > 0 {
		return fmt.Errorf("xmppbench: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (o *options) clientConfig() (*xclient.Config, error) {
	c := &xclient.Config{Addr: o.addr, Domain: o.domain, Resource: o.resource, Timeout: o.timeout, NoRoster: !o.roster, Nagle: !o.noDelay,
		SCRAMCache: o.scramCache}
	switch o.tlsMode {
	case "none":
	case "starttls":
		c.TLS = xclient.TLSStartTLS
	case "direct":
		c.TLS = xclient.TLSDirect
	default:
		return nil, fmt.Errorf("xmppbench: unknown -tls %q", o.tlsMode)
	}
	c.TLSConfig = &tls.Config{ServerName: o.domain, InsecureSkipVerify: o.insecure} //nolint:gosec // operator's choice
	if !strings.EqualFold(o.mech, "auto") {
		c.Mech = strings.ToUpper(o.mech)
	}
	return c, nil
}

// dialers builds one dialer per source address. IP_BIND_ADDRESS_NO_PORT
// lets the kernel pick the port at connect time, so the 4-tuple (not the
// bare port) must be unique and TIME_WAIT sockets of a login storm do not
// exhaust the ephemeral range.
func (o *options) dialers() ([]*net.Dialer, error) {
	var ds []*net.Dialer
	for _, s := range strings.Split(o.sources, ",") {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			return nil, fmt.Errorf("xmppbench: bad source address %q", s)
		}
		ds = append(ds, &net.Dialer{
			LocalAddr: &net.TCPAddr{IP: ip},
			Timeout:   o.timeout,
			Control: func(_, _ string, rc syscall.RawConn) error {
				var serr error
				err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, 24 /* IP_BIND_ADDRESS_NO_PORT */, 1)
				})
				if err != nil {
					return err
				}
				return serr
			},
		})
	}
	return ds, nil
}

// emit writes one JSON line to the run's output (stdout).
func (b *bench) emit(v any) {
	js, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xmppbench: json:", err)
		return
	}
	if _, err := b.out.Write(append(js, '\n')); err != nil {
		fmt.Fprintln(os.Stderr, "xmppbench: output:", err)
	}
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if lim, err := raiseNoFile(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else if uint64(o.users)+100 > lim && o.scenario != "login" {
		fmt.Fprintf(os.Stderr, "xmppbench: warning: %d users need more descriptors than the limit %d\n", o.users, lim)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBench(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var run func(context.Context) error
	switch o.scenario {
	case "login":
		run = b.runLogin
	case "chat":
		run = b.runChat
	case "saturate":
		run = b.runSaturate
	case "idle":
		run = b.runIdle
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "xmppbench: cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
