package conf

// MuxServer configures the server side of multiplexor links (owned by mux).
type MuxServer struct {
	// Listen is the address multiplexors dial ("" disables the port).
	Listen string `toml:"listen"`
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
	for _, peer := range m.Peers {
		if peer.Name == "" || peer.Secret == "" {
			p.Addf("mux.peer", "every peer needs a name and a secret")
		}
	}
}
