package link

import (
	"bytes"
	"io"
	"net"
	"testing"
)

func tcpAddr(s string) *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func TestProxyHeaderRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   Meta
	}{
		{"ipv4 plain", Meta{Remote: tcpAddr("192.0.2.7:40000"), Local: tcpAddr("127.0.0.1:5222")}},
		{"ipv6 tls", Meta{Remote: tcpAddr("[2001:db8::7]:40000"), Local: tcpAddr("[::1]:5223"),
			TLSTerminated: true, TLSVersion: "TLS 1.3", ServerName: "localhost"}},
		{"no addresses", Meta{TLSTerminated: true}},
		{"mixed families", Meta{Remote: tcpAddr("192.0.2.7:1"), Local: tcpAddr("[2001:db8::1]:2")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendHeader(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			r := bytes.NewReader(append(b, "<stream"...))
			got, err := ReadHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != "<stream" {
				t.Fatalf("header read too much or too little: rest %q", rest)
			}
			want := tc.in
			if tc.name == "mixed families" { // sent as LOCAL: no addresses
				want.Remote, want.Local = nil, nil
			}
			if addrString(got.Remote) != addrString(want.Remote) || addrString(got.Local) != addrString(want.Local) ||
				got.TLSTerminated != want.TLSTerminated || got.TLSVersion != want.TLSVersion || got.ServerName != want.ServerName {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestReadHeaderRejects(t *testing.T) {
	good, err := AppendHeader(Meta{Remote: tcpAddr("192.0.2.7:1"), Local: tcpAddr("127.0.0.1:2")})
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte{}, good[:16]...)
	huge[14], huge[15] = 0xff, 0xff
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"xml instead", []byte("<stream:stream xmlns='jabber:client'>")},
		{"v1 text", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")},
		{"truncated", good[:len(good)-1]},
		{"oversized", huge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ReadHeader(bytes.NewReader(tc.in)); err == nil {
				t.Fatalf("accepted %+v", m)
			}
		})
	}
}
