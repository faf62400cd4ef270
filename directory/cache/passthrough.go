package cache

import (
	"context"
	"errors"

	"github.com/xmppd/xmppd/directory"
)

// CheckPassword implements directory.Accounts; it is never cached.
func (c *Cache) CheckPassword(ctx context.Context, user, password string) error {
	return c.inner.CheckPassword(ctx, user, password)
}

// SCRAM implements directory.Accounts; credentials are never cached.
func (c *Cache) SCRAM(ctx context.Context, user, mech string) (directory.SCRAM, error) {
	return c.inner.SCRAM(ctx, user, mech)
}

// Mechanisms implements directory.Accounts.
func (c *Cache) Mechanisms() []string { return c.inner.Mechanisms() }

// Create implements directory.Accounts; it drops the cached "no such user".
func (c *Cache) Create(ctx context.Context, user, password string) error {
	err := c.inner.Create(ctx, user, password)
	if err == nil || errors.Is(err, directory.ErrExists) {
		c.Forget(user)
	}
	return err
}

// Delete implements directory.Accounts; it drops what is cached of user.
func (c *Cache) Delete(ctx context.Context, user string) error {
	err := c.inner.Delete(ctx, user)
	c.Forget(user)
	return err
}

// SetPassword implements directory.Accounts.
func (c *Cache) SetPassword(ctx context.Context, user, password string) error {
	return c.inner.SetPassword(ctx, user, password)
}

// List implements directory.Accounts; listings are not cached.
func (c *Cache) List(ctx context.Context, domain string) ([]string, error) {
	return c.inner.List(ctx, domain)
}
