package link

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	proxyproto "github.com/pires/go-proxyproto"
)

// Meta describes the client connection behind one stream of a link.
type Meta struct {
	// Mux is the name of the multiplexor the stream came through.
	Mux string
	// Remote is the client's address, Local the address it connected to
	// on the multiplexor (nil when the multiplexor could not tell).
	Remote, Local net.Addr
	// TLSTerminated is true when the multiplexor terminated TLS (a direct
	// TLS port, XEP-0368): the bytes on the stream are already clear text
	// and the server must treat the session as encrypted.
	TLSTerminated bool
	// TLSVersion ("TLSv1.3") and ServerName (SNI) are set with TLSTerminated.
	TLSVersion string
	ServerName string
}

// PROXY v2 constants (haproxy proxy-protocol.txt section 2.2).
const (
	proxyFixedLen   = 16   // signature, ver/cmd, family, length
	maxProxyPayload = 1024 // addresses plus our few TLVs
	sslClientSSL    = 0x01 // pp2_tlv_ssl.client: PP2_CLIENT_SSL
)

// errNoProxy reports a stream that does not begin with a PROXY v2 header.
var errNoProxy = errors.New("link: stream does not begin with a PROXY v2 header")

// AppendHeader returns the PROXY v2 header that opens a client stream.
func AppendHeader(m Meta) ([]byte, error) {
	h := proxyproto.HeaderProxyFromAddrs(2, m.Remote, m.Local)
	var tlvs []proxyproto.TLV
	if m.TLSTerminated {
		v := []byte{sslClientSSL, 0, 0, 0, 0} // client, verify (0: no cert asked)
		if m.TLSVersion != "" {
			v = appendTLV(v, proxyproto.PP2_SUBTYPE_SSL_VERSION, m.TLSVersion)
		}
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.PP2_TYPE_SSL, Value: v})
		if m.ServerName != "" {
			tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.PP2_TYPE_AUTHORITY, Value: []byte(m.ServerName)})
		}
	}
	if err := h.SetTLVs(tlvs); err != nil {
		return nil, fmt.Errorf("link: proxy header: %w", err)
	}
	b, err := h.Format()
	if err != nil {
		// Mixed address families: send LOCAL (no addresses) rather than fail.
		h = proxyproto.HeaderProxyFromAddrs(2, nil, nil)
		if err := h.SetTLVs(tlvs); err != nil {
			return nil, fmt.Errorf("link: proxy header: %w", err)
		}
		if b, err = h.Format(); err != nil {
			return nil, fmt.Errorf("link: proxy header: %w", err)
		}
	}
	return b, nil
}

func appendTLV(b []byte, t proxyproto.PP2Type, v string) []byte {
	b = append(b, byte(t), byte(len(v)>>8), byte(len(v)))
	return append(b, v...)
}

// ReadHeader reads exactly one PROXY v2 header from r, never more, so the
// client's bytes that follow stay unread. Mux is left empty.
func ReadHeader(r io.Reader) (Meta, error) {
	var fixed [proxyFixedLen]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return Meta{}, fmt.Errorf("link: proxy header: %w", err)
	}
	if !bytes.Equal(fixed[:12], proxyproto.SIGV2) || fixed[12]>>4 != 2 {
		return Meta{}, errNoProxy
	}
	n := int(binary.BigEndian.Uint16(fixed[14:16]))
	if n > maxProxyPayload {
		return Meta{}, fmt.Errorf("link: proxy header: payload of %d bytes", n)
	}
	buf := make([]byte, proxyFixedLen+n)
	copy(buf, fixed[:])
	if _, err := io.ReadFull(r, buf[proxyFixedLen:]); err != nil {
		return Meta{}, fmt.Errorf("link: proxy header: %w", err)
	}
	return parseHeader(buf)
}

func parseHeader(buf []byte) (Meta, error) {
	h, err := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(buf), len(buf)))
	if err != nil {
		return Meta{}, fmt.Errorf("link: proxy header: %w", err)
	}
	var m Meta
	if h.Command.IsProxy() {
		m.Remote, m.Local = h.SourceAddr, h.DestinationAddr
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return Meta{}, fmt.Errorf("link: proxy header: %w", err)
	}
	for _, t := range tlvs {
		switch t.Type {
		case proxyproto.PP2_TYPE_SSL:
			if err := parseSSL(&m, t.Value); err != nil {
				return Meta{}, err
			}
		case proxyproto.PP2_TYPE_AUTHORITY:
			m.ServerName = string(t.Value)
		}
	}
	return m, nil
}

func parseSSL(m *Meta, v []byte) error {
	if len(v) < 5 {
		return fmt.Errorf("link: proxy header: short SSL TLV")
	}
	m.TLSTerminated = v[0]&sslClientSSL != 0
	subs, err := proxyproto.SplitTLVs(v[5:])
	if err != nil {
		return fmt.Errorf("link: proxy header: %w", err)
	}
	for _, s := range subs {
		if s.Type == proxyproto.PP2_SUBTYPE_SSL_VERSION {
			m.TLSVersion = string(s.Value)
		}
	}
	return nil
}
