package server

import (
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/xmpp/blocking"
	"github.com/xmppd/xmppd/xmpp/disco"
	"github.com/xmppd/xmppd/xmpp/last"
	"github.com/xmppd/xmppd/xmpp/module"
	"github.com/xmppd/xmppd/xmpp/offline"
	"github.com/xmppd/xmppd/xmpp/ping"
	"github.com/xmppd/xmppd/xmpp/presence"
	"github.com/xmppd/xmppd/xmpp/private"
	"github.com/xmppd/xmppd/xmpp/roster"
	"github.com/xmppd/xmppd/xmpp/vcard"
	"github.com/xmppd/xmppd/xmpp/version"
)

// Version is the software version reported by XEP-0092.
var Version = "0.1.0-dev"

// Modules returns the list of enabled modules, in start order, and the
// presence handler. This is the one place where features are switched on.
func Modules(cfg *conf.Config) ([]module.Module, PresenceHandler) {
	r := roster.New()
	b := blocking.New(0)
	p := presence.New(r, b)
	mods := []module.Module{
		r,
		b,
		p,
		offline.New(),
		disco.New(disco.Options{}),
		ping.New(),
		version.New(Version, false),
		vcard.New(64 << 10),
		private.New(64 << 10),
		last.New(nil),
	}
	return mods, p
}
