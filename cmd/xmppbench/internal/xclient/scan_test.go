package xclient

import (
	"bytes"
	"testing"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/stats"
)

func collect(chunks ...[]byte) []string {
	var s Scanner
	var out []string
	for _, c := range chunks {
		s.Feed(c, func(e []byte) { out = append(out, string(e)) })
	}
	return out
}

func stamped(step int, ns int64) string {
	return "<message type='chat' to='a@b'><body>" + string(stats.AppendStamp(nil, step, ns, 40)) + "</body></message>"
}

func TestScannerFindsMessages(t *testing.T) {
	m1 := stamped(1, 111)
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"one", m1, []string{m1}},
		{"between other stanzas", "<presence/><iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>" + m1 + "<presence from='x'/>", []string{m1}},
		{"two back to back", m1 + m1, []string{m1, m1}},
		{"self-closing", "<message to='x'/>" + m1, []string{"<message to='x'/>", m1}},
		{"not a message element", "<messages>hi</messages>" + m1, []string{m1}},
		{"stream header first", "<?xml version='1.0'?><stream:stream xmlns='jabber:client'>" + m1, []string{m1}},
		{"nested forwarded copy counted once", "<message><received><forwarded><message><body>x</body></message></forwarded></received></message>",
			[]string{"<message><received><forwarded><message><body>x</body></message>"}},
		{"incomplete kept out", m1[:len(m1)-3], nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := collect([]byte(tc.in))
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("element %d: got %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want MessageInfo
	}{
		{"stamped", stamped(3, 1764000000000000001), MessageInfo{Stamped: true, Step: 3, SentNS: 1764000000000000001}},
		{"error bounce", "<message type=\"error\" from='a'><body>" + string(stats.AppendStamp(nil, 1, 5, 40)) + "</body><error/></message>",
			MessageInfo{Error: true, Stamped: true, Step: 1, SentNS: 5}},
		{"foreign body", "<message><body>hello</body></message>", MessageInfo{}},
		{"no body", "<message><x/></message>", MessageInfo{}},
		{"empty body", "<message><body/></message>", MessageInfo{}},
		{"body with attribute", "<message><body xml:lang='en'>xb2:9 pad</body></message>", MessageInfo{Stamped: true, Step: 2, SentNS: 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseMessage([]byte(tc.in)); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzScannerSplit checks that splitting the input at any two points finds
// the same elements as feeding it whole, and that the scanner never panics.
func FuzzScannerSplit(f *testing.F) {
	f.Add([]byte(stamped(1, 2)+"<presence/>"+stamped(2, 3)), 5, 40)
	f.Add([]byte("<message/><message>"), 3, 9)
	f.Add([]byte("<messag<message><body>xb1:2 </body></message>"), 6, 7)
	f.Fuzz(func(t *testing.T, in []byte, a, b int) {
		whole := collect(in)
		if len(in) == 0 {
			return
		}
		a, b = abs(a)%len(in), abs(b)%len(in)
		if a > b {
			a, b = b, a
		}
		split := collect(in[:a], in[a:b], in[b:])
		if len(whole) != len(split) {
			t.Fatalf("whole %q, split at %d,%d %q", whole, a, b, split)
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("element %d differs: %q vs %q", i, whole[i], split[i])
			}
			if !bytes.HasPrefix([]byte(whole[i]), msgOpen) {
				t.Fatalf("element %q does not start with <message", whole[i])
			}
			_ = ParseMessage([]byte(whole[i]))
		}
	})
}

func abs(v int) int {
	if v < 0 {
		if v == -v { // math.MinInt
			return 0
		}
		return -v
	}
	return v
}
