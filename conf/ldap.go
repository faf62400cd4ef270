package conf

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// LDAP configures the LDAP directory backend (owned by directory/ldap).
type LDAP struct {
	// URL is ldap:// or ldaps://; with ldap://, StartTLS upgrades the link.
	URL      string `toml:"url"`
	StartTLS bool   `toml:"start_tls"`
	// CAFile is a PEM bundle that verifies the LDAP server's certificate
	// (system roots when empty). TLSServerName overrides the URL's host.
	CAFile        string `toml:"ca_file"`
	TLSServerName string `toml:"tls_server_name"`
	// BindDN and BindPassword (or BindPasswordFile) are the service account
	// that searches users and groups.
	BindDN           string `toml:"bind_dn"`
	BindPassword     string `toml:"bind_password"`
	BindPasswordFile string `toml:"bind_password_file"`
	// Domain is the hosted domain whose accounts live in LDAP ("" = every
	// hosted domain maps to the same directory entries).
	Domain string `toml:"domain"`
	// UserBase is searched (subtree) with UserFilter, where every %s is
	// replaced by the escaped localpart.
	UserBase   string         `toml:"user_base"`
	UserFilter string         `toml:"user_filter"`
	Attributes LDAPAttributes `toml:"attributes"`
	// GroupBase is searched with GroupFilter for shared groups. Groups, when
	// set, limits them to these names (GroupNameAttribute values).
	GroupBase          string   `toml:"group_base"`
	GroupFilter        string   `toml:"group_filter"`
	GroupNameAttribute string   `toml:"group_name_attribute"`
	Groups             []string `toml:"groups"`
	// MemberAttribute holds the members of a group; MemberType says whether
	// its values are entry DNs ("dn": member, uniqueMember) or localparts
	// ("uid": memberUid of posixGroup).
	MemberAttribute string `toml:"member_attribute"`
	MemberType      string `toml:"member_type"`
	// Writable lets the server create, delete and re-password entries
	// (in-band registration); new entries go under CreateBase.
	Writable   bool   `toml:"writable"`
	CreateBase string `toml:"create_base"`
	// PasswordScheme is "ssha" (we store {SSHA}) or "server" (RFC 3062
	// password modify, hashed by the LDAP server's own policy).
	PasswordScheme string `toml:"password_scheme"`
	// PoolSize bounds the connections of each pool (service, user binds).
	PoolSize int `toml:"pool_size"`
	// Timeout bounds one LDAP operation when the caller's context has no
	// shorter deadline.
	Timeout Duration `toml:"timeout"`
	// MaxBackoff caps the wait between reconnection attempts.
	MaxBackoff Duration `toml:"max_backoff"`
}

// LDAPAttributes maps account properties to LDAP attribute names.
type LDAPAttributes struct {
	Localpart   string `toml:"localpart"`
	DisplayName string `toml:"display_name"`
	Mail        string `toml:"mail"`
	Photo       string `toml:"photo"`
	// Prefs maps a preference name to the attribute holding it.
	Prefs map[string]string `toml:"prefs"`
}

func defaultLDAP() LDAP {
	return LDAP{
		UserFilter: "(&(objectClass=inetOrgPerson)(uid=%s))",
		Attributes: LDAPAttributes{
			Localpart:   "uid",
			DisplayName: "cn",
			Mail:        "mail",
			Photo:       "jpegPhoto",
		},
		GroupFilter:        "(objectClass=groupOfNames)",
		GroupNameAttribute: "cn",
		MemberAttribute:    "member",
		MemberType:         "dn",
		PasswordScheme:     "ssha",
		PoolSize:           4,
		Timeout:            Duration{5 * time.Second},
		MaxBackoff:         Duration{10 * time.Second},
	}
}

func (l *LDAP) validate(p *Problems) {
	const k = "directory.ldap."
	if l.URL == "" {
		p.Addf(k+"url", "required when directory.backend = \"ldap\"")
	} else if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		p.Addf(k+"url", "%q is not an ldap:// or ldaps:// URL", l.URL)
	} else if u.Scheme == "ldaps" && l.StartTLS {
		p.Addf(k+"start_tls", "cannot be used with ldaps://")
	}
	if l.BindPassword != "" && l.BindPasswordFile != "" {
		p.Addf(k+"bind_password", "give bind_password or bind_password_file, not both")
	}
	if l.BindDN != "" && l.BindPassword == "" && l.BindPasswordFile == "" {
		p.Addf(k+"bind_password", "required with bind_dn (an empty password is an anonymous bind)")
	}
	if l.Domain != "" && strings.ContainsAny(l.Domain, "@/ ") {
		p.Addf(k+"domain", "%q is not a domain", l.Domain)
	}
	if l.UserBase == "" {
		p.Addf(k+"user_base", "required")
	}
	checkFilter(p, k+"user_filter", l.UserFilter, true)
	if l.Attributes.Localpart == "" {
		p.Addf(k+"attributes.localpart", "required")
	}
	if l.GroupBase != "" {
		checkFilter(p, k+"group_filter", l.GroupFilter, false)
		if l.GroupNameAttribute == "" {
			p.Addf(k+"group_name_attribute", "required with group_base")
		}
		if l.MemberAttribute == "" {
			p.Addf(k+"member_attribute", "required with group_base")
		}
	}
	if l.MemberType != "dn" && l.MemberType != "uid" {
		p.Addf(k+"member_type", "%q is not dn or uid", l.MemberType)
	}
	if l.PasswordScheme != "ssha" && l.PasswordScheme != "server" {
		p.Addf(k+"password_scheme", "%q is not ssha or server", l.PasswordScheme)
	}
	checkInt(p, k+"pool_size", l.PoolSize, 1, 256)
	checkDur(p, k+"timeout", l.Timeout, 100*time.Millisecond, 5*time.Minute)
	checkDur(p, k+"max_backoff", l.MaxBackoff, 100*time.Millisecond, time.Hour)
}

// checkFilter does a shallow check of an LDAP filter: balanced parentheses,
// and the %s placeholder where one is needed.
func checkFilter(p *Problems, key, f string, needArg bool) {
	if f == "" {
		p.Addf(key, "required")
		return
	}
	if needArg && !strings.Contains(f, "%s") {
		p.Addf(key, "%q has no %%s for the localpart", f)
	}
	if !needArg && strings.Contains(f, "%") {
		p.Addf(key, "%q must not contain %%", f)
	}
	depth := 0
	for _, r := range f {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth < 0 {
			break
		}
	}
	if depth != 0 || !strings.HasPrefix(f, "(") {
		p.Addf(key, "%s", fmt.Sprintf("%q is not a parenthesised LDAP filter", f))
	}
}
