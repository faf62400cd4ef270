package mux

import (
	"strings"
	"testing"
)

const minimal = `
[mux]
name = "mux1"
secret = "s"
server = "127.0.0.1:5347"
[listen]
plain = ["127.0.0.1:0"]
`

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../testdata/mux/xmppmux.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Limits != d.Limits || c.Stats != d.Stats || c.Mux.ReconnectMax != d.Mux.ReconnectMax {
		t.Fatalf("example differs from defaults: %+v", c)
	}
}

func TestConfigProblems(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string // keys that must be reported
	}{
		{"minimal is valid", minimal, nil},
		{"unknown key", minimal + "[limits]\nmax_client = 3\n", []string{"limits.max_client: unknown key"}},
		{"unknown section", minimal + "[nope]\na = 1\n", []string{"nope: unknown key"}},
		{"everything missing", "", []string{"mux.name", "mux.secret", "mux.server", "listen.plain"}},
		{"bad values", `
[mux]
name = "a b"
secret = "s"
server = "nohost"
server_ca = "ca.pem"
log_level = "loud"
reconnect_max = "1ms"
[listen]
tls = ["127.0.0.1:0"]
[limits]
max_clients = 0
client_buffer_bytes = 1024
[stats]
listen = "x"
`, []string{"mux.name", "mux.server", "mux.server_tls", "mux.log_level", "mux.reconnect_max",
			"listen.cert", "limits.max_clients", "limits.client_buffer_bytes", "stats.listen"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.doc, "test.toml")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, k := range tc.want {
				if !strings.Contains(err.Error(), "\n  "+k) {
					t.Errorf("%s not reported in:\n%v", k, err)
				}
			}
		})
	}
}
