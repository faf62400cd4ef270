package ldap

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/directory"
)

// Create implements directory.Accounts. With writable = true it adds an
// inetOrgPerson entry under create_base (uid, cn, sn = the localpart); the
// password is stored as {SSHA} computed here, or, with password_scheme =
// "server", set by an RFC 3062 password modify so the server's own policy
// hashes it.
func (b *Backend) Create(ctx context.Context, user, password string) error {
	if !b.cfg.Writable {
		return directory.ErrReadOnly
	}
	local, _, err := b.split(user)
	if err != nil {
		return err
	}
	if password == "" || strings.ContainsRune(password, 0) {
		return fmt.Errorf("ldap: create %s: empty password or NUL", user)
	}
	switch _, err := b.findUser(ctx, local, nil); {
	case err == nil:
		return directory.ErrExists
	case !errors.Is(err, directory.ErrNotFound):
		return err
	}
	dn := fmt.Sprintf("%s=%s,%s", b.cfg.Attributes.Localpart, goldap.EscapeDN(local), b.cfg.CreateBase)
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
	req.Attribute(b.cfg.Attributes.Localpart, []string{local})
	req.Attribute("cn", []string{local})
	req.Attribute("sn", []string{local})
	if b.cfg.PasswordScheme == "ssha" {
		h, err := SSHA(password)
		if err != nil {
			return err
		}
		req.Attribute("userPassword", []string{h})
	}
	err = b.write(ctx, "add", func(c *goldap.Conn) error { return c.Add(req) })
	if goldap.IsErrorWithCode(err, goldap.LDAPResultEntryAlreadyExists) {
		return directory.ErrExists
	}
	if err != nil {
		return err
	}
	if b.cfg.PasswordScheme == "server" {
		if err := b.passwordModify(ctx, dn, password); err != nil {
			// Do not leave an entry nobody can log in to.
			derr := b.write(ctx, "delete", func(c *goldap.Conn) error { return c.Del(goldap.NewDelRequest(dn, nil)) })
			return errors.Join(err, derr)
		}
	}
	return nil
}

// Delete implements directory.Accounts: it removes the user's entry (group
// memberships are left to the directory's referential integrity overlay).
func (b *Backend) Delete(ctx context.Context, user string) error {
	if !b.cfg.Writable {
		return directory.ErrReadOnly
	}
	local, _, err := b.split(user)
	if err != nil {
		return err
	}
	e, err := b.findUser(ctx, local, nil)
	if err != nil {
		return err
	}
	if dc := b.dnCache(); dc != nil {
		dc.ForgetDN(user)
	}
	err = b.write(ctx, "delete", func(c *goldap.Conn) error { return c.Del(goldap.NewDelRequest(e.DN, nil)) })
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return directory.ErrNotFound
	}
	return err
}

// SetPassword implements directory.Accounts.
func (b *Backend) SetPassword(ctx context.Context, user, password string) error {
	if !b.cfg.Writable {
		return directory.ErrReadOnly
	}
	local, _, err := b.split(user)
	if err != nil {
		return err
	}
	if password == "" || strings.ContainsRune(password, 0) {
		return fmt.Errorf("ldap: set password %s: empty password or NUL", user)
	}
	e, err := b.findUser(ctx, local, nil)
	if err != nil {
		return err
	}
	if b.cfg.PasswordScheme == "server" {
		return b.passwordModify(ctx, e.DN, password)
	}
	h, err := SSHA(password)
	if err != nil {
		return err
	}
	req := goldap.NewModifyRequest(e.DN, nil)
	req.Replace("userPassword", []string{h})
	return b.write(ctx, "modify", func(c *goldap.Conn) error { return c.Modify(req) })
}

func (b *Backend) passwordModify(ctx context.Context, dn, password string) error {
	req := goldap.NewPasswordModifyRequest(dn, "", password)
	return b.write(ctx, "password modify", func(c *goldap.Conn) error {
		_, err := c.PasswordModify(req)
		return err
	})
}

// write runs one modifying operation on a service connection. It is never
// retried: a write that reached the server before the link broke must not
// be applied twice.
func (b *Backend) write(ctx context.Context, op string, fn func(*goldap.Conn) error) error {
	err := b.svc.do(ctx, b.opTimeout, false, func(c *goldap.Conn) error {
		b.n.writes.Add(1)
		return fn(c)
	})
	if goldap.IsErrorAnyOf(err, goldap.LDAPResultEntryAlreadyExists, goldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("ldap: %s: %w", op, err)
	}
	return classify(op, err)
}

// SSHA hashes password as RFC 2307 {SSHA}: SHA-1 over password and an
// 8-byte random salt, base64 of digest and salt. OpenLDAP verifies it
// natively; it is the scheme every LDAP server understands.
func SSHA(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("ldap: salt: %w", err)
	}
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...)), nil
}
