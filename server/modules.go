package server

import (
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/xmpp/blocking"
	"github.com/xmppd/xmppd/xmpp/carbons"
	"github.com/xmppd/xmppd/xmpp/disco"
	"github.com/xmppd/xmppd/xmpp/last"
	"github.com/xmppd/xmppd/xmpp/module"
	"github.com/xmppd/xmppd/xmpp/muc"
	"github.com/xmppd/xmppd/xmpp/offline"
	"github.com/xmppd/xmppd/xmpp/ping"
	"github.com/xmppd/xmppd/xmpp/presence"
	"github.com/xmppd/xmppd/xmpp/private"
	"github.com/xmppd/xmppd/xmpp/register"
	"github.com/xmppd/xmppd/xmpp/roster"
	"github.com/xmppd/xmppd/xmpp/vcard"
	"github.com/xmppd/xmppd/xmpp/version"
)

// Version is the software version reported by XEP-0092.
var Version = "0.1.0-dev"

// Wiring is what Modules chose: the modules in start order and the ones
// the core calls directly.
type Wiring struct {
	Modules  []module.Module
	Presence PresenceHandler
	Register Registrar // nil unless in-band registration is enabled
}

// Modules returns the enabled modules. This is the one place where
// features are switched on.
func Modules(cfg *conf.Config) Wiring {
	r := roster.New()
	b := blocking.New(0)
	p := presence.New(r, b)
	v := vcard.New(64 << 10)
	p.SetDecorator(v)
	mods := []module.Module{
		r,
		b,
		p,
		offline.New(),
		disco.New(disco.Options{}),
		ping.New(),
		version.New(Version, false),
		v,
		private.New(64 << 10),
		last.New(nil),
		muc.New(),
		carbons.New(),
	}
	w := Wiring{Presence: p}
	if cfg.Registration.Enabled {
		reg := register.New()
		mods = append(mods, reg)
		w.Register = reg
	}
	w.Modules = mods
	return w
}
