package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
)

// NSUpdate is the XEP-0153 (vCard-based avatars) presence namespace.
const NSUpdate = "vcard-temp:x:update"

// PhotoHash returns the hex SHA-1 of the account's vCard photo, "" when
// it has none. Hashes are cached per account and renewed on every set.
func (m *Module) PhotoHash(ctx context.Context, user string) string {
	if h, ok := m.hashes.Load(user); ok {
		return h.(string)
	}
	h := ""
	if b, ok, err := m.host.Store().GetData(ctx, user, DataKey); err == nil && ok {
		if v, err := dom.Parse(b); err == nil {
			h = photoHash(v)
		}
	}
	m.hashes.Store(user, h)
	return h
}

func photoHash(v *dom.Element) string {
	bin := v.Child(NS, "PHOTO").ChildText(NS, "BINVAL")
	if bin == "" {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(bin), ""))
	if err != nil {
		return ""
	}
	sum := sha1.Sum(raw)
	return hex.EncodeToString(sum[:])
}

// Decorate adds the XEP-0153 <x/> with the avatar hash to an available
// presence the account sends, unless the client put one there itself (as
// Prosody's vcard_legacy does): contacts and rooms learn the avatar.
func (m *Module) Decorate(ctx context.Context, user string, p *dom.Element) bool {
	if p.Child(NSUpdate, "x") != nil {
		return false
	}
	photo := dom.New(NSUpdate, "photo").SetText(m.PhotoHash(ctx, user))
	p.Add(dom.New(NSUpdate, "x").Add(photo))
	return true
}
