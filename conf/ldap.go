package conf

// LDAP configures the LDAP directory backend (owned by directory/ldap).
type LDAP struct {
	// URL is ldap://, ldaps:// (StartTLS with start_tls = true).
	URL string `toml:"url"`
}

func defaultLDAP() LDAP { return LDAP{} }

func (l *LDAP) validate(p *Problems) {
	if l.URL == "" {
		p.Addf("directory.ldap.url", "required when directory.backend = \"ldap\"")
	}
}
