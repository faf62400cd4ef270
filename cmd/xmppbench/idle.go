package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/xclient"
)

// runIdle: RSS of -pid before, N users log in over -arrival and stay; after
// -settle the RSS again; memory per connection = the difference / N. The
// sessions then stay -hold and leave.
func (b *bench) runIdle(ctx context.Context) error {
	before := readProc(b.o.pid)
	if !before.ok {
		return fmt.Errorf("xmppbench: cannot read /proc/%d", b.o.pid)
	}
	lr := &loginRec{}
	var readers sync.WaitGroup
	m := startMeter(b.o.pid)
	conns := b.loginAll(ctx, lr, &readers)
	gen, srv, _ := m.read()
	sleepCtx(ctx, b.o.settle)
	at := readProc(b.o.pid)
	n := b.online.count()
	pbkdf, cached := xclient.SCRAMCounts()
	res := map[string]any{"tool": "xmppbench", "server": b.o.label, "scenario": "idle", "kind": "run",
		"n": b.o.users, "tls": b.o.tlsMode != "none", "tls_mode": b.o.tlsMode, "auth_mech": b.o.mech,
		"plan":          fmt.Sprintf("arrival=%s settle=%s hold=%s", b.o.arrival, b.o.settle, b.o.hold),
		"users_started": lr.arrived.Load(), "logins_ok": lr.ok.Load(), "errors": lr.errors(),
		"login_ms": lr.login.Dist(), "max_conns": n, "scram_pbkdf2": pbkdf, "scram_cached": cached,
		"idle_rss_mb": round1(float64(before.rssKB) / 1024), "rss_at_max_conns_mb": round1(float64(at.rssKB) / 1024),
		"gen_cpu_pct_avg_arrivals": gen, "server_cpu_pct_avg_arrivals": srv}
	kib := 0.0
	if n > 0 && at.ok {
		kib = round1(float64(at.rssKB-before.rssKB) / float64(n))
		res["kb_per_conn"] = kib
	}
	b.emit(res)
	fmt.Fprintf(os.Stderr, "RESULT tool=xmppbench server=%s scenario=idle N=%d logins_ok=%d conns=%d idle_rss=%.1fMB rss_at_conns=%.1fMB kb_per_conn=%.1f login_ms(p50/p95/max)=%s errors=%v gen_cpu=%.1f%% srv_cpu=%.1f%%\n",
		b.o.label, b.o.users, lr.ok.Load(), n, float64(before.rssKB)/1024, float64(at.rssKB)/1024, kib,
		distStr(lr.login.Dist()), lr.errors(), gen, srv)
	sleepCtx(ctx, b.o.hold)
	b.closeAll(conns, &readers)
	return ctx.Err()
}
