package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Python is Debian's interpreter: the XMPP libraries are Debian packages.
const Python = "/usr/bin/python3"

// PeerTimeout bounds one run of a peer program.
const PeerTimeout = 3 * time.Minute

// RequirePackages fails the test, naming the package, when a Debian package
// a peer comes from is not installed. `make deps` installs them all, so a
// missing one is a broken setup, never a reason to skip.
func RequirePackages(t testing.TB, pkgs ...string) {
	t.Helper()
	for _, p := range pkgs {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || strings.TrimSpace(string(out)) != "install ok installed" {
			t.Fatalf("interop: Debian package %s is not installed (run `make deps`): %s %v",
				p, strings.TrimSpace(string(out)), err)
		}
	}
}

// Output is what a peer program printed.
type Output struct {
	Lines  []string // stdout, line by line
	Stderr string
	Err    error // exit status
}

// RunPeer runs a peer program to completion and returns what it printed.
func RunPeer(ctx context.Context, name string, args ...string) Output {
	return RunPeerIO(ctx, nil, "", name, args...)
}

// RunPeerIO is RunPeer with extra environment entries and a standard input.
func RunPeerIO(ctx context.Context, env []string, stdin string, name string, args ...string) Output {
	ctx, cancel := context.WithTimeout(ctx, PeerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return Output{Lines: splitLines(stdout.String()), Stderr: stderr.String(), Err: err}
}

func splitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// String shows the output in a failure message.
func (o Output) String() string {
	return fmt.Sprintf("exit: %v\nstdout:\n%s\nstderr:\n%s", o.Err, strings.Join(o.Lines, "\n"), tail(o.Stderr, 60))
}

// Match returns the first line matching the regular expression, and its
// submatches; ok is false when no line does.
func (o Output) Match(expr string) (sub []string, ok bool) {
	re := regexp.MustCompile(expr)
	for _, l := range o.Lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m, true
		}
	}
	return nil, false
}

// Want fails the test for every regular expression that no line matches.
func (o Output) Want(t testing.TB, exprs ...string) {
	t.Helper()
	for _, e := range exprs {
		if _, ok := o.Match(e); !ok {
			t.Errorf("peer printed no line matching %q", e)
		}
	}
}

// Peer is a peer program running in the background, read line by line.
type Peer struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	all    []string
	done   chan struct{}
	err    error
}

// StartPeer starts a long-running peer; Wait must be called.
func StartPeer(ctx context.Context, name string, args ...string) (*Peer, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	p := &Peer{cmd: cmd, lines: make(chan string, 100), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("interop: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("interop: start %s: %w", name, err)
	}
	go p.read(r)
	return p, nil
}

func (p *Peer) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.lines <- sc.Text()
	}
	close(p.lines)
	p.err = p.cmd.Wait()
	close(p.done)
}

// WaitLine returns once the peer printed a line equal to want, or an error
// when it exits or the context ends first.
func (p *Peer) WaitLine(ctx context.Context, want string) error {
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return fmt.Errorf("interop: peer ended before printing %q", want)
			}
			p.all = append(p.all, l)
			if l == want {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("interop: peer did not print %q: %w", want, ctx.Err())
		}
	}
}

// Wait collects the rest of the output and the exit status.
func (p *Peer) Wait() Output {
	for l := range p.lines {
		p.all = append(p.all, l)
	}
	<-p.done
	return Output{Lines: p.all, Stderr: p.stderr.String(), Err: p.err}
}
