package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/stats"
	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// bench is the state of one run, shared by every simulated user.
type bench struct {
	o       *options
	out     io.Writer // JSON lines
	cfg     *xclient.Config
	dialers []*net.Dialer
	nextDl  atomic.Uint64

	online online
	// recs[k] counts the messages stamped with step k (0 = unmeasured).
	recsMu sync.RWMutex
	recs   []*msgRec
	// bounces and unstamped count received messages that are not ours.
	bounces, unstamped atomic.Int64
	recvPerSec         perSecond
}

// msgRec counts one step's messages.
type msgRec struct {
	sent, recv, sendErr atomic.Int64
	lat                 stats.Hist
}

// loginRec counts one step's (or one run's) logins.
type loginRec struct {
	arrived, ok, closed atomic.Int64
	login, roster, conn stats.Hist
	errMu               sync.Mutex
	errs                map[string]int64
}

func newBench(o *options) (*bench, error) {
	cfg, err := o.clientConfig()
	if err != nil {
		return nil, err
	}
	ds, err := o.dialers()
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, out: os.Stdout, cfg: cfg, dialers: ds}
	b.online.init(o.users)
	b.recvPerSec.start = time.Now()
	return b, nil
}

func (b *bench) userName(i int) string { return b.o.prefix + strconv.Itoa(b.o.first+i) }

// rec returns the recorder of a step, creating it (and any before it).
func (b *bench) rec(step int) *msgRec {
	b.recsMu.RLock()
	if step < len(b.recs) {
		r := b.recs[step]
		b.recsMu.RUnlock()
		return r
	}
	b.recsMu.RUnlock()
	b.recsMu.Lock()
	defer b.recsMu.Unlock()
	for len(b.recs) <= step {
		b.recs = append(b.recs, &msgRec{})
	}
	return b.recs[step]
}

// login logs user i in and records its timings in r.
func (b *bench) login(ctx context.Context, i int, r *loginRec) (*xclient.Conn, error) {
	r.arrived.Add(1)
	d := b.dialers[b.nextDl.Add(1)%uint64(len(b.dialers))]
	c, t, err := xclient.Login(ctx, b.cfg, d, b.userName(i), b.o.password)
	if err != nil {
		r.addErr(classify(err))
		return nil, err
	}
	r.ok.Add(1)
	r.conn.Record(t.Connect)
	r.login.Record(t.Login)
	r.roster.Record(t.Roster)
	return c, nil
}

func (r *loginRec) addErr(kind string) {
	r.errMu.Lock()
	if r.errs == nil {
		r.errs = map[string]int64{}
	}
	r.errs[kind]++
	r.errMu.Unlock()
}

func (r *loginRec) errors() map[string]int64 {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	out := make(map[string]int64, len(r.errs))
	for k, v := range r.errs {
		out[k] = v
	}
	return out
}

// classify names a login failure the way tsung's error counters would.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, xclient.ErrAuth):
		return "error_auth"
	case errors.Is(err, xclient.ErrBind):
		return "error_bind"
	case errors.Is(err, xclient.ErrStream):
		return "error_stream"
	case errors.Is(err, xclient.ErrFeature):
		return "error_feature"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "error_timeout"
	case strings.Contains(err.Error(), "connect:"):
		return "error_connect"
	case strings.Contains(err.Error(), "tls:"):
		return "error_tls"
	}
	return "error_closed"
}

// onMessage is the receive path of every session: parse, look up the step,
// record the latency.
func (b *bench) onMessage(elem []byte) {
	mi := xclient.ParseMessage(elem)
	if mi.Error {
		b.bounces.Add(1)
		return
	}
	if !mi.Stamped {
		b.unstamped.Add(1)
		return
	}
	now := time.Now()
	r := b.rec(mi.Step)
	r.recv.Add(1)
	r.lat.Record(now.Sub(time.Unix(0, mi.SentNS)))
	if mi.Step > 0 {
		b.recvPerSec.add(now)
	}
}

// serve runs a session's reader until the connection ends.
func (b *bench) serve(c *xclient.Conn, done func()) {
	go func() {
		defer done()
		_ = c.ReadLoop(b.o.readBuf, b.onMessage) // a dropped session shows up as lost messages
	}()
}

// message builds one stamped chat message to user dst.
func (b *bench) message(buf []byte, dst, step int) []byte {
	buf = append(buf[:0], "<message type='chat' to='"...)
	buf = append(buf, b.o.prefix...)
	buf = strconv.AppendInt(buf, int64(b.o.first+dst), 10)
	buf = append(buf, '@')
	buf = append(buf, b.o.domain...)
	buf = append(buf, "'><body>"...)
	buf = stats.AppendStamp(buf, step, time.Now().UnixNano(), b.o.size)
	return append(buf, "</body></message>"...)
}

// send sends one message from c to a random online user other than self,
// counted in step's recorder. It reports false when nobody else is online.
func (b *bench) send(c *xclient.Conn, buf *[]byte, self, step int) bool {
	dst, ok := b.online.pick(self)
	if !ok {
		return false
	}
	*buf = b.message(*buf, dst, step)
	r := b.rec(step)
	if err := c.Write(*buf, 5*time.Second); err != nil {
		r.sendErr.Add(1)
		return true
	}
	r.sent.Add(1)
	return true
}

// arrivals calls fn(i) for i in [0,n) at rate per second (Poisson or
// uniform), each in its own goroutine tracked by wg, and returns after the
// last start (or when ctx ends).
func (b *bench) arrivals(ctx context.Context, n int, rate float64, wg *sync.WaitGroup, fn func(i int)) {
	start := time.Now()
	at := 0.0
	for i := 0; i < n; i++ {
		if b.o.arrivals == "uniform" {
			at = float64(i) / rate
		} else {
			at += rand.ExpFloat64() / rate
		}
		if d := time.Until(start.Add(time.Duration(at * float64(time.Second)))); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
}

// online is the set of users that may receive messages (available
// presence sent, not closing), with O(1) add, remove and random pick.
type online struct {
	mu  sync.RWMutex
	pos []int // pos[user] = index in ids, or -1
	ids []int
}

func (s *online) init(n int) {
	s.pos = make([]int, n)
	for i := range s.pos {
		s.pos[i] = -1
	}
}

func (s *online) add(u int) {
	s.mu.Lock()
	if s.pos[u] < 0 {
		s.pos[u] = len(s.ids)
		s.ids = append(s.ids, u)
	}
	s.mu.Unlock()
}

func (s *online) remove(u int) {
	s.mu.Lock()
	if p := s.pos[u]; p >= 0 {
		last := s.ids[len(s.ids)-1]
		s.ids[p] = last
		s.pos[last] = p
		s.ids = s.ids[:len(s.ids)-1]
		s.pos[u] = -1
	}
	s.mu.Unlock()
}

func (s *online) count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.ids)
}

// pick returns a random online user other than self.
func (s *online) pick(self int) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := len(s.ids)
	if n == 0 || (n == 1 && s.ids[0] == self) {
		return 0, false
	}
	for {
		if u := s.ids[rand.IntN(n)]; u != self {
			return u, true
		}
	}
}

// perSecond counts stamped receptions per second of the run, for the
// steady message rate.
type perSecond struct {
	start time.Time
	cnt   [4096]atomic.Int64
}

func (p *perSecond) add(t time.Time) {
	if s := int(t.Sub(p.start) / time.Second); s >= 0 && s < len(p.cnt) {
		p.cnt[s].Add(1)
	}
}

// steady is the median of the 10 s windows that received messages,
// leaving out the first and last (ramps), like summarize.py.
func (p *perSecond) steady() float64 {
	var wins []float64
	for w := 0; w+10 <= len(p.cnt); w += 10 {
		var c int64
		for s := w; s < w+10; s++ {
			c += p.cnt[s].Load()
		}
		if c > 0 {
			wins = append(wins, float64(c)/10)
		}
	}
	if len(wins) > 2 {
		wins = wins[1 : len(wins)-1]
	}
	if len(wins) == 0 {
		return 0
	}
	sortFloats(wins)
	return wins[len(wins)/2]
}
