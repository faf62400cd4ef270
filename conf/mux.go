package conf

// MuxServer configures the server side of multiplexor links (owned by mux).
type MuxServer struct {
	// Listen is the address multiplexors dial ("" disables the port).
	Listen string `toml:"listen"`
	// TLS serves the mux port over TLS with the server's certificate
	// ([tls]); the multiplexors then set server_tls and server_ca.
	TLS bool `toml:"tls"`
	// Peers are the multiplexors allowed to connect.
	Peers []MuxPeer `toml:"peer"`
}

// MuxPeer is one multiplexor's name and shared secret (XEP-0114 handshake).
type MuxPeer struct {
	Name   string `toml:"name"`
	Secret string `toml:"secret"`
}

func defaultMuxServer() MuxServer { return MuxServer{} }

func (m *MuxServer) validate(p *Problems) {
	if m.Listen != "" {
		checkAddr(p, "mux.listen", m.Listen)
	}
	seen := map[string]bool{}
	for _, peer := range m.Peers {
		if peer.Name == "" || peer.Secret == "" {
			p.Addf("mux.peer", "every peer needs a name and a secret")
		}
		if seen[peer.Name] {
			p.Addf("mux.peer", "name %q listed twice", peer.Name)
		}
		seen[peer.Name] = true
	}
	if m.Listen != "" && len(m.Peers) == 0 {
		p.Addf("mux.peer", "mux.listen is set but no peer may connect")
	}
}
