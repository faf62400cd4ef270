package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/stats"
	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// msgResult is the JSON of a chat run or a saturate step, in summarize.py's
// field names where they mean the same thing.
type msgResult struct {
	Tool         string           `json:"tool"`
	Server       string           `json:"server"`
	Scenario     string           `json:"scenario"`
	Kind         string           `json:"kind"`
	N            int              `json:"n"`
	Plan         string           `json:"plan"`
	TLS          string           `json:"tls_mode"`
	TLSOn        bool             `json:"tls"`
	Mech         string           `json:"auth_mech"`
	UsersStarted int64            `json:"users_started"`
	LoginsOK     int64            `json:"logins_ok"`
	LoginMS      *stats.Dist      `json:"login_ms,omitempty"`
	RosterMS     *stats.Dist      `json:"roster_ms,omitempty"`
	Errors       map[string]int64 `json:"errors"`
	ScramPBKDF2  int64            `json:"scram_pbkdf2"` // SCRAM logins of the process so far
	ScramCached  int64            `json:"scram_cached"`
	StepRate     float64          `json:"step_rate_per_s,omitempty"`
	SentPerS     float64          `json:"sent_per_s,omitempty"`
	RecvPerS     float64          `json:"recv_per_s,omitempty"`
	Sent         int64            `json:"msgs_sent"`
	Recv         int64            `json:"msgs_recv_stamped"`
	Lost         int64            `json:"msgs_lost_or_uncounted"`
	SendErrors   int64            `json:"msgs_send_errors"`
	Bounces      int64            `json:"msgs_bounced"`
	Delivered    float64          `json:"delivered_ratio"`
	Steady       float64          `json:"msg_rate_steady_per_s,omitempty"`
	LatMS        *stats.Dist      `json:"msg_latency_ms"`
	GenCPU       float64          `json:"gen_cpu_pct_avg"`
	ServerCPU    float64          `json:"server_cpu_pct_avg"`
	WallS        float64          `json:"wall_s"`
	StepOK       *bool            `json:"step_ok,omitempty"`
	FailReasons  []string         `json:"fail_reasons,omitempty"`
}

func (b *bench) fillMsgs(res *msgResult, r *msgRec) {
	res.Sent, res.Recv, res.SendErrors = r.sent.Load(), r.recv.Load(), r.sendErr.Load()
	res.Lost = res.Sent - res.Recv
	res.Bounces = b.bounces.Load()
	res.ScramPBKDF2, res.ScramCached = xclient.SCRAMCounts()
	res.LatMS = r.lat.Dist()
	if res.Sent > 0 {
		res.Delivered = float64(int64(float64(res.Recv)/float64(res.Sent)*1e5)) / 1e5
	}
}

// runChat: N users arrive over -arrival; each logs in, sends -msgs stamped
// messages one per -interval to random online users, lingers, leaves.
func (b *bench) runChat(ctx context.Context) error {
	lr := &loginRec{}
	m := startMeter(b.o.pid)
	var wg sync.WaitGroup
	rate := float64(b.o.users) / b.o.arrival.Seconds()
	b.arrivals(ctx, b.o.users, rate, &wg, func(i int) {
		c, err := b.login(ctx, i, lr)
		if err != nil {
			return
		}
		var rd sync.WaitGroup
		rd.Add(1)
		b.serve(c, rd.Done)
		b.online.add(i)
		buf := make([]byte, 0, b.o.size+128)
		for k := 0; k < b.o.msgs && sleepCtx(ctx, b.o.interval); k++ {
			b.send(c, &buf, i, 1)
		}
		sleepCtx(ctx, b.o.linger)
		b.online.remove(i)
		_ = c.Close() // a failed close only shows as the server's problem later
		rd.Wait()
	})
	wg.Wait()
	gen, srv, wall := m.read()
	res := msgResult{Tool: "xmppbench", Server: b.o.label, Scenario: "chat", Kind: "run", N: b.o.users,
		Plan: fmt.Sprintf("arrival=%s msgs=%dx every %s size=%d linger=%s", b.o.arrival, b.o.msgs,
			b.o.interval, b.o.size, b.o.linger),
		TLS: b.o.tlsMode, TLSOn: b.o.tlsMode != "none", Mech: b.o.mech, UsersStarted: lr.arrived.Load(), LoginsOK: lr.ok.Load(),
		LoginMS: lr.login.Dist(), RosterMS: lr.roster.Dist(), Errors: lr.errors(),
		Steady: b.recvPerSec.steady(), GenCPU: gen, ServerCPU: srv, WallS: round1(wall)}
	b.fillMsgs(&res, b.rec(1))
	b.emit(res)
	fmt.Fprintf(os.Stderr, "RESULT tool=xmppbench server=%s scenario=chat N=%d logins_ok=%d login_ms(p50/p95/max)=%s "+
		"msgs_sent=%d msgs_recv=%d lost=%d bounced=%d msg_rate_steady=%.1f/s msg_lat_ms(mean/p50/p95/p99/max)=%s "+
		"errors=%v scram_pbkdf2=%d scram_cached=%d gen_cpu_avg=%.1f%% srv_cpu_avg=%.1f%% wall=%.1fs\n",
		b.o.label, b.o.users, res.LoginsOK, distStr(res.LoginMS), res.Sent, res.Recv, res.Lost, res.Bounces,
		res.Steady, latStr(res.LatMS), res.Errors, res.ScramPBKDF2, res.ScramCached, gen, srv, wall)
	return ctx.Err()
}

func latStr(d *stats.Dist) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f/%.2f/%.2f/%.2f/%.2f", d.Mean, d.P50, d.P95, d.P99, d.Max)
}

// loginAll logs N users in over -arrival and starts their readers; it
// returns the sessions (nil for failed logins) once all arrivals are done.
func (b *bench) loginAll(ctx context.Context, lr *loginRec, readers *sync.WaitGroup) []*xclient.Conn {
	conns := make([]*xclient.Conn, b.o.users)
	var wg sync.WaitGroup
	rate := float64(b.o.users) / b.o.arrival.Seconds()
	b.arrivals(ctx, b.o.users, rate, &wg, func(i int) {
		c, err := b.login(ctx, i, lr)
		if err != nil {
			return
		}
		conns[i] = c
		readers.Add(1)
		b.serve(c, readers.Done)
		b.online.add(i)
	})
	wg.Wait()
	return conns
}

// closeAll ends every session and waits for the readers.
func (b *bench) closeAll(conns []*xclient.Conn, readers *sync.WaitGroup) {
	for i, c := range conns {
		if c != nil {
			b.online.remove(i)
			_ = c.Close() // nothing left to measure on this session
		}
	}
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		fmt.Fprintln(os.Stderr, "xmppbench: some sessions did not end within 10 s of closing")
	}
}
