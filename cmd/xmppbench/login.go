package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/stats"
	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// loginStep is one step of the login storm, in summarize.py's field names.
type loginStep struct {
	Tool          string           `json:"tool"`
	Server        string           `json:"server"`
	Scenario      string           `json:"scenario"`
	Kind          string           `json:"kind"`
	N             int              `json:"n"`
	TLS           string           `json:"tls_mode"`
	TLSOn         bool             `json:"tls"`
	Mech          string           `json:"auth_mech"`
	OfferedRate   float64          `json:"offered_rate_per_s"`
	PhaseS        float64          `json:"phase_s"`
	UsersStarted  int64            `json:"users_started"`
	LoginsOK      int64            `json:"logins_ok"`
	ArrivedPerS   float64          `json:"arrived_per_s"`
	OKPerS        float64          `json:"ok_per_s"`
	OKRatio       float64          `json:"ok_ratio"`
	LoginPeak     float64          `json:"login_rate_peak_per_s"`
	LoginMS       *stats.Dist      `json:"login_ms"`
	RosterMS      *stats.Dist      `json:"roster_ms"`
	ConnectMS     *stats.Dist      `json:"connect_ms"`
	Errors        map[string]int64 `json:"errors"`
	GenCPU        float64          `json:"gen_cpu_pct_avg"`
	ServerCPU     float64          `json:"server_cpu_pct_avg"`
	WallS         float64          `json:"wall_s"`
	ScramPBKDF2   int64            `json:"scram_pbkdf2"`
	ScramCached   int64            `json:"scram_cached"`
	StepOK        bool             `json:"step_ok"`
	DoneInSeconds float64          `json:"-"`
}

// runLogin is the stepped login storm: per step, users arrive at the
// step's rate for -step, each logs in fully, stays -hold, and leaves. The
// run stops after the first step that does not keep up.
func (b *bench) runLogin(ctx context.Context) error {
	var steps []loginStep
	for k, rate := range b.o.rates {
		st := b.loginStep(ctx, rate, k)
		steps = append(steps, st)
		b.emit(st)
		fmt.Fprintf(os.Stderr, "login step %.0f/s: arrived %d ok %d (%.1f/s, ratio %.4f) login ms p50/p95/max %s errors %v scram pbkdf2/cached %d/%d gen_cpu %.1f%% srv_cpu %.1f%% -> %s\n",
			rate, st.UsersStarted, st.LoginsOK, st.OKPerS, st.OKRatio, distStr(st.LoginMS), st.Errors,
			st.ScramPBKDF2, st.ScramCached, st.GenCPU, st.ServerCPU, okStr(st.StepOK))
		if !st.StepOK || ctx.Err() != nil {
			break
		}
		if k < len(b.o.rates)-1 && !sleepCtx(ctx, b.o.pause) {
			break
		}
	}
	b.loginSummary(steps)
	return ctx.Err()
}

func (b *bench) loginStep(ctx context.Context, rate float64, k int) loginStep {
	r := &loginRec{}
	n := int(rate * b.o.step.Seconds())
	m := startMeter(b.o.pid)
	pbkdf0, cached0 := xclient.SCRAMCounts()
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	var doneAt []float64 // login completion times (s since step start), for the peak rate
	t0 := time.Now()
	b.arrivals(ctx, n, rate, &wg, func(i int) {
		u := (k*n + i) % b.o.users // accounts reused round-robin, like tsung's userdb
		c, err := b.login(ctx, u, r)
		if err != nil {
			return
		}
		doneMu.Lock()
		doneAt = append(doneAt, time.Since(t0).Seconds())
		doneMu.Unlock()
		var rd sync.WaitGroup // read what the server pushes, so the close is a FIN, not a RST
		rd.Add(1)
		b.serve(c, rd.Done)
		sleepCtx(ctx, b.o.hold)
		if c.Close() == nil {
			r.closed.Add(1)
		}
		rd.Wait()
	})
	wg.Wait()
	gen, srv, wall := m.read()
	pbkdf1, cached1 := xclient.SCRAMCounts()
	st := loginStep{Tool: "xmppbench", Server: b.o.label, Scenario: "login", Kind: "step", N: b.o.users,
		TLS: b.o.tlsMode, TLSOn: b.o.tlsMode != "none", Mech: b.o.mech, OfferedRate: rate, PhaseS: b.o.step.Seconds(),
		UsersStarted: r.arrived.Load(), LoginsOK: r.ok.Load(), LoginMS: r.login.Dist(),
		RosterMS: r.roster.Dist(), ConnectMS: r.conn.Dist(), Errors: r.errors(),
		GenCPU: gen, ServerCPU: srv, WallS: round1(wall), ScramPBKDF2: pbkdf1 - pbkdf0, ScramCached: cached1 - cached0}
	st.ArrivedPerS = round1(float64(st.UsersStarted) / st.PhaseS)
	st.OKPerS = round1(float64(st.LoginsOK) / st.PhaseS)
	if st.UsersStarted > 0 {
		st.OKRatio = float64(int64(float64(st.LoginsOK)/float64(st.UsersStarted)*10000)) / 10000
	}
	st.LoginPeak = peakWindow(doneAt, 10)
	st.StepOK = st.UsersStarted > 0 && st.OKRatio >= b.o.okRatio && st.LoginMS != nil &&
		st.LoginMS.P95 <= float64(b.o.p95Limit.Milliseconds())
	return st
}

// peakWindow is the best rate over a sliding window of w seconds.
func peakWindow(ts []float64, w float64) float64 {
	sort.Float64s(ts)
	best, j := 0, 0
	for i := range ts {
		for ts[i]-ts[j] > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return round1(float64(best) / w)
}

func (b *bench) loginSummary(steps []loginStep) {
	var best, bad *loginStep
	ceiling := 0.0
	var pbkdf, cached int64
	for i := range steps {
		s := &steps[i]
		pbkdf += s.ScramPBKDF2
		cached += s.ScramCached
		ceiling = max(ceiling, s.LoginPeak)
		if s.StepOK && (best == nil || s.OKPerS > best.OKPerS) {
			best = s
		}
		if !s.StepOK && bad == nil {
			bad = s
		}
	}
	sum := map[string]any{"tool": "xmppbench", "server": b.o.label, "scenario": "login", "kind": "run",
		"n": b.o.users, "tls": b.o.tlsMode != "none", "tls_mode": b.o.tlsMode, "auth_mech": b.o.mech,
		"plan":                  fmt.Sprintf("steps=%v/s x %s hold=%s arrivals=%s", b.o.rates, b.o.step, b.o.hold, b.o.arrivals),
		"login_sustained_per_s": 0.0, "login_ceiling_10s_per_s": ceiling,
		"at_sustained": best, "first_failing_step": bad, "scram_cache": b.o.scramCache,
		"scram_pbkdf2": pbkdf, "scram_cached": cached}
	if best != nil {
		sum["login_sustained_per_s"] = best.OKPerS
	}
	b.emit(sum)
	line := fmt.Sprintf("RESULT tool=xmppbench server=%s scenario=login N=%d login_sustained=%v/s ceiling_10s=%v/s",
		b.o.label, b.o.users, sum["login_sustained_per_s"], ceiling)
	if best != nil {
		line += fmt.Sprintf(" (at step %.0f/s: login_ms p95=%s gen_cpu=%.1f%% srv_cpu=%.1f%%)",
			best.OfferedRate, fmtMS(best.LoginMS, "p95"), best.GenCPU, best.ServerCPU)
	}
	if bad != nil {
		line += fmt.Sprintf(" first_fail=%.0f/s (ok=%.1f/s ratio=%.4f p95=%sms errors=%v)",
			bad.OfferedRate, bad.OKPerS, bad.OKRatio, fmtMS(bad.LoginMS, "p95"), bad.Errors)
	} else {
		line += " first_fail=none (all steps kept up: raise -rates)"
	}
	if pbkdf+cached > 0 {
		line += fmt.Sprintf(" scram_pbkdf2=%d scram_cached=%d", pbkdf, cached)
	}
	fmt.Fprintln(os.Stderr, line)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func okStr(ok bool) string {
	if ok {
		return "kept up"
	}
	return "FAILED"
}

func distStr(d *stats.Dist) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f/%.1f/%.1f", d.P50, d.P95, d.Max)
}

func fmtMS(d *stats.Dist, which string) string {
	if d == nil {
		return "-"
	}
	switch which {
	case "p50":
		return fmt.Sprint(d.P50)
	case "p95":
		return fmt.Sprint(d.P95)
	case "p99":
		return fmt.Sprint(d.P99)
	}
	return fmt.Sprint(d.Max)
}

func sortFloats(v []float64) { sort.Float64s(v) }
