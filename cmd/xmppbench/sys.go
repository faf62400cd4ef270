package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clkTck is USER_HZ; 100 on every Linux architecture Go supports here.
const clkTck = 100

// raiseNoFile lifts the soft descriptor limit to the hard one (20000 on the
// bench machine), since every session is one socket.
func raiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("xmppbench: getrlimit: %w", err)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return rl.Cur, fmt.Errorf("xmppbench: setrlimit: %w", err)
	}
	return rl.Cur, nil
}

// selfCPU is the CPU time (user+system) this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procSample reads CPU ticks and RSS of another process (the server).
type procSample struct {
	ticks int64
	rssKB int64
	ok    bool
}

func readProc(pid int) procSample {
	if pid <= 0 {
		return procSample{}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}
	}
	var s procSample
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
		f := bytes.Fields(stat[i+2:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(string(f[11]), 10, 64)
			k, _ := strconv.ParseInt(string(f[12]), 10, 64)
			s.ticks = u + k
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("VmRSS:")) {
			f := bytes.Fields(line)
			if len(f) >= 2 {
				s.rssKB, _ = strconv.ParseInt(string(f[1]), 10, 64)
			}
		}
	}
	s.ok = true
	return s
}

// meter measures CPU shares over a window: ours (getrusage) and the
// server's (/proc), both in % of one core.
type meter struct {
	pid   int
	t0    time.Time
	cpu0  time.Duration
	proc0 procSample
}

func startMeter(pid int) meter {
	return meter{pid: pid, t0: time.Now(), cpu0: selfCPU(), proc0: readProc(pid)}
}

// read returns (generator %, server % or -1 when unknown, wall seconds).
func (m meter) read() (gen, srv, wall float64) {
	wall = time.Since(m.t0).Seconds()
	if wall <= 0 {
		return 0, -1, 0
	}
	gen = 100 * (selfCPU() - m.cpu0).Seconds() / wall
	srv = -1
	if p := readProc(m.pid); p.ok && m.proc0.ok {
		srv = 100 * float64(p.ticks-m.proc0.ticks) / clkTck / wall
	}
	return round1(gen), round1(srv), wall
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
