package conf

import "time"

// Directory selects and configures the account directory.
type Directory struct {
	// Backend is "embedded" (SQLite in the data directory) or "ldap".
	Backend string `toml:"backend"`
	Cache   Cache  `toml:"cache"`
	LDAP    LDAP   `toml:"ldap"`
}

// Cache configures the ristretto cache in front of a remote directory.
type Cache struct {
	// TTL is how long a positive answer is kept (aging).
	TTL Duration `toml:"ttl"`
	// NegativeTTL is how long "no such user" is kept.
	NegativeTTL Duration `toml:"negative_ttl"`
	// MaxItems bounds the number of cached entries.
	MaxItems int `toml:"max_items"`
}

func defaultDirectory() Directory {
	return Directory{
		Backend: "embedded",
		Cache: Cache{
			TTL:         Duration{5 * time.Minute},
			NegativeTTL: Duration{30 * time.Second},
			MaxItems:    100000,
		},
		LDAP: defaultLDAP(),
	}
}

func (d *Directory) validate(p *Problems) {
	switch d.Backend {
	case "embedded":
	case "ldap":
		d.LDAP.validate(p)
	default:
		p.Addf("directory.backend", "%q is not embedded or ldap", d.Backend)
	}
	checkDur(p, "directory.cache.ttl", d.Cache.TTL, 0, 24*time.Hour)
	checkDur(p, "directory.cache.negative_ttl", d.Cache.NegativeTTL, 0, 24*time.Hour)
	checkInt(p, "directory.cache.max_items", d.Cache.MaxItems, 1, 100000000)
}
