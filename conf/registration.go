package conf

// Registration configures XEP-0077 in-band registration.
type Registration struct {
	// Enabled allows new accounts to be created by clients (off by default).
	Enabled bool `toml:"enabled"`
}

func defaultRegistration() Registration { return Registration{} }

func (r *Registration) validate(p *Problems) {}
