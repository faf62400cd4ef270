// Package directory says who the users are: accounts, credentials, groups,
// profile attributes, contact lists (rosters) and per-user private data. One
// interface, with the embedded SQLite backend (directory/embedded) as the
// default and LDAP (directory/ldap) for organisations that have a directory.
//
// Users are always named by their bare JID string, already prepared
// (localpart@domain, as mellium's jid package prints it).
package directory

import (
	"context"
	"errors"
)

// Errors returned by every backend. Callers test them with errors.Is.
var (
	ErrNotFound      = errors.New("directory: no such user")
	ErrExists        = errors.New("directory: user already exists")
	ErrBadPassword   = errors.New("directory: wrong password")
	ErrUnavailable   = errors.New("directory: backend unavailable")
	ErrNoCredentials = errors.New("directory: no SCRAM credentials for this mechanism")
	ErrReadOnly      = errors.New("directory: backend is read-only")
)

// SCRAM holds the salted password of one hash, as mellium.im/sasl needs it.
type SCRAM struct {
	Salt       []byte
	Salted     []byte // PBKDF2(password, salt, iterations)
	Iterations int
}

// User is what the rest of the server reads about an account.
type User struct {
	JID         string
	DisplayName string
	Mail        string
	Groups      []string
	// Prefs are free preferences read from the directory by configured names.
	Prefs map[string]string
}

// Group is a directory group whose members share a contact list.
type Group struct {
	Name    string
	Members []string // bare JIDs
}

// Accounts is the backend-switchable part: who exists and how they log in.
type Accounts interface {
	// Exists reports whether the account exists.
	Exists(ctx context.Context, user string) (bool, error)
	// SCRAM returns the stored salted password for mech ("SCRAM-SHA-1",
	// "SCRAM-SHA-256"); ErrNoCredentials when the backend cannot answer it.
	SCRAM(ctx context.Context, user, mech string) (SCRAM, error)
	// CheckPassword verifies a clear password (SASL PLAIN). It returns nil,
	// ErrBadPassword, ErrNotFound or ErrUnavailable.
	CheckPassword(ctx context.Context, user, password string) error
	// Mechanisms lists the SASL mechanisms this backend can answer, best first.
	Mechanisms() []string
	// Create adds an account; ErrExists when it is there already.
	Create(ctx context.Context, user, password string) error
	// Delete removes an account and everything the directory holds for it.
	Delete(ctx context.Context, user string) error
	// SetPassword replaces the credentials of an existing account.
	SetPassword(ctx context.Context, user, password string) error
	// List returns the bare JIDs of a domain's accounts ("" for all), sorted.
	List(ctx context.Context, domain string) ([]string, error)
	// User returns an account's attributes.
	User(ctx context.Context, user string) (User, error)
	// Groups returns the shared groups of a domain.
	Groups(ctx context.Context, domain string) ([]Group, error)
	Close() error
}

// Subscription states of a roster item (RFC 6121 section 2.1.2.5).
const (
	SubNone = "none"
	SubTo   = "to"
	SubFrom = "from"
	SubBoth = "both"
)

// RosterItem is one contact in a user's roster with its subscription state.
type RosterItem struct {
	JID          string
	Name         string
	Subscription string   // none, to, from, both
	Ask          bool     // pending out: subscribe sent, not answered
	PendingIn    bool     // pending in: contact asked, user did not answer
	Approved     bool     // pre-approval (RFC 6121 3.4)
	Groups       []string // sorted
	// PendingStanza is the subscribe request kept for pending in, so it can
	// be re-sent on every login (RFC 6121 3.1.3).
	PendingStanza []byte
}

// Rosters stores contact lists. Versions are strictly increasing per user.
type Rosters interface {
	// Roster returns the items and the current version.
	Roster(ctx context.Context, user string) (items []RosterItem, version int64, err error)
	// Item returns one item; ok is false when the contact is not there.
	Item(ctx context.Context, user, contact string) (item RosterItem, ok bool, err error)
	// PutItem creates or replaces an item and returns the new version.
	PutItem(ctx context.Context, user string, item RosterItem) (version int64, err error)
	// DeleteItem removes an item and returns the new version.
	DeleteItem(ctx context.Context, user, contact string) (version int64, err error)
}

// Data stores per-user private XML (vcard-temp, XEP-0049, blocklists, last
// activity...) under a key chosen by the feature that owns it.
type Data interface {
	GetData(ctx context.Context, user, key string) ([]byte, bool, error)
	PutData(ctx context.Context, user, key string, value []byte) error
	DeleteData(ctx context.Context, user, key string) error
}

// Store is everything the server needs from the directory.
type Store interface {
	Accounts
	Rosters
	Data
}
