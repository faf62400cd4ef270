package conf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func writeConf(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.toml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// The example file documents every key with its default: loading it must
// give exactly the defaults, so the two cannot drift apart.
func TestExampleIsDefaults(t *testing.T) {
	c, err := Load("../xmppd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c.path = ""
	if got, want := fmt.Sprintf("%+v", c), fmt.Sprintf("%+v", Default()); got != want {
		t.Fatalf("example differs from defaults:\n got %s\nwant %s", got, want)
	}
	// Every key of the configuration appears in the example.
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(Default()); err != nil {
		t.Fatal(err)
	}
	var all, ex map[string]any
	mdAll, err := toml.Decode(buf.String(), &all)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../xmppd.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	mdEx, err := toml.Decode(string(b), &ex)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, k := range mdEx.Keys() {
		have[k.String()] = true
	}
	for _, k := range mdAll.Keys() {
		if !have[k.String()] {
			t.Errorf("xmppd.example.toml lacks %s", k)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name, toml string
		want       []string
	}{
		{"unknown key", "[server]\ndomain = \"x\"\n", []string{"server.domain: unknown key"}},
		{"unknown section", "[nope]\na = 1\n", []string{"nope: unknown key"}},
		{"every problem at once", `
[server]
domains = []
log_level = "loud"
[c2s]
max_stanza_size = 5
listen = ["nocolon"]
[offline]
quota = -1
`, []string{"server.domains", "server.log_level", "c2s.max_stanza_size", "c2s.listen", "offline.quota"}},
		{"bad duration", "[c2s]\nidle_timeout = \"soon\"\n", []string{"idle_timeout"}},
		{"half a certificate", "[tls]\ncert = \"a.pem\"\n", []string{"tls.cert"}},
		{"admin socket path too long", "[server]\nadmin_socket = \"/run/" + strings.Repeat("x", 110) + "\"\n",
			[]string{"server.admin_socket", "at most 107 bytes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConf(t, tc.toml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	b, err := os.ReadFile("../xmppd.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
	f.Add("[server]\ndomains = [\"a\", \"a\"]\n")
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(t.TempDir(), "f.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Load accepted what Validate refuses: %v", err)
			}
		}
	})
}
