package conf

import (
	"net/netip"
	"time"
)

// Registration configures XEP-0077 in-band registration.
type Registration struct {
	// Enabled allows new accounts to be created by clients (off by default);
	// it also switches on password change and account removal.
	Enabled bool `toml:"enabled"`
	// AllowedNetworks are the client networks (CIDR) that may register;
	// empty allows every address.
	AllowedNetworks []string `toml:"allowed_networks"`
	// RateLimit is the number of registration attempts one client address
	// may make per RateWindow (0: unlimited).
	RateLimit  int      `toml:"rate_limit"`
	RateWindow Duration `toml:"rate_window"`
	// MinPasswordLength refuses shorter new passwords.
	MinPasswordLength int `toml:"min_password_length"`
	// Instructions is shown to the user above the form.
	Instructions string `toml:"instructions"`
}

func defaultRegistration() Registration {
	return Registration{
		RateLimit:         5,
		RateWindow:        Duration{time.Hour},
		MinPasswordLength: 8,
		Instructions:      "Choose a username and password for use with this service.",
	}
}

func (r *Registration) validate(p *Problems) {
	for _, n := range r.AllowedNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			p.Addf("registration.allowed_networks", "%q: %v", n, err)
		}
	}
	checkInt(p, "registration.rate_limit", r.RateLimit, 0, 1000000)
	checkDur(p, "registration.rate_window", r.RateWindow, time.Second, 7*24*time.Hour)
	checkInt(p, "registration.min_password_length", r.MinPasswordLength, 1, 1024)
}
