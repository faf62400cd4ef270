package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// runSaturate: N users log in and stay; then per step every user sends to
// random online users at rate/N per second (random phase, so the total is
// smooth): -warmup unmeasured, then -step measured; the run stops after the
// first step with p99 >= -p99-limit, delivered < -min-delivered, or less
// than 90 % of the rate really sent (the generator could not keep up).
func (b *bench) runSaturate(ctx context.Context) error {
	lr := &loginRec{}
	var readers sync.WaitGroup
	conns := b.loginAll(ctx, lr, &readers)
	defer b.closeAll(conns, &readers)
	fmt.Fprintf(os.Stderr, "saturate: %d/%d users online, login ms p50/p95/max %s\n",
		lr.ok.Load(), b.o.users, distStr(lr.login.Dist()))
	if !sleepCtx(ctx, b.o.settle) {
		return ctx.Err()
	}
	var steps []msgResult
	for k, rate := range b.o.rates {
		st := b.saturateStep(ctx, conns, lr, rate, k+1)
		steps = append(steps, st)
		b.emit(st)
		fmt.Fprintf(os.Stderr, "saturate step %.0f/s: sent %.1f/s recv %.1f/s delivered %.5f lat_ms mean/p50/p95/p99/max %s gen_cpu %.1f%% srv_cpu %.1f%% -> %s %v\n",
			rate, st.SentPerS, st.RecvPerS, st.Delivered, latStr(st.LatMS), st.GenCPU, st.ServerCPU,
			okStr(*st.StepOK), st.FailReasons)
		if !*st.StepOK || ctx.Err() != nil {
			break
		}
		if !sleepCtx(ctx, b.o.pause) {
			break
		}
	}
	b.saturateSummary(steps)
	return ctx.Err()
}

func (b *bench) saturateStep(ctx context.Context, conns []*xclient.Conn, lr *loginRec, rate float64, step int) msgResult {
	iv := time.Duration(float64(b.o.users) / rate * float64(time.Second))
	start := time.Now().Add(100 * time.Millisecond)
	measure := start.Add(b.o.warmup)
	end := measure.Add(b.o.step)
	var m meter
	var mOnce sync.Once
	b.pace(ctx, conns, iv, start, end, func(c *xclient.Conn, buf *[]byte, i int, t time.Time) {
		s := 0
		if !t.Before(measure) {
			s = step
			mOnce.Do(func() { m = startMeter(b.o.pid) })
		}
		b.send(c, buf, i, s)
	})
	if m.t0.IsZero() {
		m = startMeter(b.o.pid)
	}
	gen, srv, wall := m.read() // the measured window: from its first send to the last
	sleepCtx(ctx, b.o.linger)  // let messages in flight arrive
	r := b.rec(step)
	ok := true
	res := msgResult{Tool: "xmppbench", Server: b.o.label, Scenario: "saturate", Kind: "step", N: b.o.users,
		Plan: fmt.Sprintf("rate=%.0f msg/s x %s (every %s per user, warm-up %s)", rate, b.o.step, iv, b.o.warmup),
		TLS:  b.o.tlsMode, TLSOn: b.o.tlsMode != "none", Mech: b.o.mech, UsersStarted: lr.arrived.Load(), LoginsOK: lr.ok.Load(),
		Errors: lr.errors(), StepRate: rate, GenCPU: gen, ServerCPU: srv, WallS: round1(wall), StepOK: &ok}
	b.fillMsgs(&res, r)
	res.SentPerS = round1(float64(res.Sent) / b.o.step.Seconds())
	res.RecvPerS = round1(float64(res.Recv) / b.o.step.Seconds())
	res.FailReasons = b.saturateVerdict(&res)
	ok = len(res.FailReasons) == 0
	return res
}

// saturateVerdict applies summarize.py's saturate criteria.
func (b *bench) saturateVerdict(r *msgResult) []string {
	var why []string
	if float64(r.LoginsOK) < 0.999*float64(r.N) {
		why = append(why, fmt.Sprintf("logins %d/%d", r.LoginsOK, r.N))
	}
	if r.SentPerS < 0.9*r.StepRate {
		why = append(why, fmt.Sprintf("generator sent only %.1f/s of %.0f/s", r.SentPerS, r.StepRate))
	}
	if r.Delivered < b.o.minDelivered {
		why = append(why, fmt.Sprintf("delivered %.5f < %v", r.Delivered, b.o.minDelivered))
	}
	if r.LatMS == nil || r.LatMS.P99 >= float64(b.o.p99Limit.Milliseconds()) {
		p99 := -1.0
		if r.LatMS != nil {
			p99 = r.LatMS.P99
		}
		why = append(why, fmt.Sprintf("p99 %v ms >= %d", p99, b.o.p99Limit.Milliseconds()))
	}
	return why
}

func (b *bench) saturateSummary(steps []msgResult) {
	var best, bad *msgResult
	for i := range steps {
		s := &steps[i]
		if *s.StepOK && (best == nil || s.SentPerS > best.SentPerS) {
			best = s
		}
		if !*s.StepOK && bad == nil {
			bad = s
		}
	}
	sum := map[string]any{"tool": "xmppbench", "server": b.o.label, "scenario": "saturate", "kind": "run",
		"n": b.o.users, "tls": b.o.tlsMode != "none", "tls_mode": b.o.tlsMode, "auth_mech": b.o.mech,
		"plan": fmt.Sprintf("N=%d steps=%v msg/s x (%s warm-up + %s) size=%d pass: p99<%s delivered>=%v",
			b.o.users, b.o.rates, b.o.warmup, b.o.step, b.o.size, b.o.p99Limit, b.o.minDelivered),
		"sustained_msg_per_s": 0.0, "at_sustained": best, "first_failing_step": bad}
	line := fmt.Sprintf("RESULT tool=xmppbench server=%s scenario=saturate N=%d", b.o.label, b.o.users)
	if best != nil {
		sum["sustained_msg_per_s"] = best.SentPerS
		sum["sustained_step_rate_per_s"] = best.StepRate
		line += fmt.Sprintf(" sustained=%.1f msg/s (step %.0f/s: p99=%.2fms gen_cpu=%.1f%% srv_cpu=%.1f%%)",
			best.SentPerS, best.StepRate, best.LatMS.P99, best.GenCPU, best.ServerCPU)
	} else {
		line += " sustained=0"
	}
	if bad != nil {
		line += fmt.Sprintf(" first_fail=%.0f/s (%v; gen_cpu=%.1f%% srv_cpu=%.1f%%)", bad.StepRate, bad.FailReasons,
			bad.GenCPU, bad.ServerCPU)
		sum["limited_by"] = limitedBy(bad)
	} else {
		line += " first_fail=none (raise -rates)"
		sum["limited_by"] = "none: every step passed"
	}
	b.emit(sum)
	fmt.Fprintln(os.Stderr, line, "limited_by="+sum["limited_by"].(string))
}

// paceWorkers is the number of sender goroutines: enough that one session
// with a full socket buffer does not stall all sending, few enough that the
// generator wakes up rarely (each worker sends everything due within
// paceSlack in one go).
const (
	paceWorkers = 8
	paceSlack   = time.Millisecond
)

// pace calls send for every session once per iv, each at its own random
// phase, from start until end. Sends may run up to paceSlack early: the
// stamp is taken when the message is built, so latency is not affected.
func (b *bench) pace(ctx context.Context, conns []*xclient.Conn, iv time.Duration, start, end time.Time,
	send func(c *xclient.Conn, buf *[]byte, i int, due time.Time)) {
	type slot struct {
		i     int
		phase time.Duration
	}
	lists := make([][]slot, paceWorkers)
	for i, c := range conns {
		if c != nil {
			w := i % paceWorkers
			lists[w] = append(lists[w], slot{i, time.Duration(rand.Int64N(int64(iv)))})
		}
	}
	var wg sync.WaitGroup
	for _, l := range lists {
		sort.Slice(l, func(a, b int) bool { return l[a].phase < l[b].phase })
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, b.o.size+128)
			for round := start; round.Before(end); round = round.Add(iv) {
				for _, sl := range l {
					due := round.Add(sl.phase)
					if !due.Before(end) {
						break
					}
					if d := time.Until(due); d > paceSlack && !sleepCtx(ctx, d) {
						return
					}
					send(conns[sl.i], &buf, sl.i, due)
				}
			}
		}()
	}
	wg.Wait()
}

// limitedBy names the core that ran out in a failing step (>= 90 %).
func limitedBy(s *msgResult) string {
	switch srv, gen := s.ServerCPU >= 90, s.GenCPU >= 90; {
	case srv && gen:
		return "server and generator"
	case srv:
		return "server"
	case gen:
		return "generator"
	}
	return "neither core saturated"
}
