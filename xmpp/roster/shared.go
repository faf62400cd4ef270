package roster

import (
	"context"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"

	"github.com/xmppd/xmppd/directory"
	"mellium.im/xmpp/jid"
)

// Shared groups (as Openfire and ejabberd's shared rosters): the members of
// a directory group see each other in their rosters under the group's
// name, with a mutual subscription, so presence flows both ways without
// anybody asking. The stored roster is left alone; shared items are merged
// in when the roster is read.

// sharedItems returns the members of user's groups as roster items.
func (m *Module) sharedItems(ctx context.Context, user string) (map[string]directory.RosterItem, error) {
	uj, err := jid.Parse(user)
	if err != nil {
		return nil, nil
	}
	groups, err := m.h.Store().Groups(ctx, uj.Domainpart())
	if err != nil {
		return nil, fmt.Errorf("roster: shared groups: %w", err)
	}
	out := map[string]directory.RosterItem{}
	for _, g := range groups {
		member := false
		for _, mb := range g.Members {
			if mb == user {
				member = true
				break
			}
		}
		if !member {
			continue
		}
		for _, mb := range g.Members {
			if mb == user {
				continue
			}
			it := out[mb]
			it.JID, it.Subscription = mb, directory.SubBoth
			it.Groups = append(it.Groups, g.Name)
			out[mb] = it
		}
	}
	return out, nil
}

// merge folds a shared item into a stored one: the subscription becomes
// mutual and the group is added; the user's own name is kept.
func merge(stored, shared directory.RosterItem) directory.RosterItem {
	stored.Subscription = directory.SubBoth
	stored.Ask = false
	for _, g := range shared.Groups {
		found := false
		for _, h := range stored.Groups {
			found = found || h == g
		}
		if !found {
			stored.Groups = append(stored.Groups, g)
		}
	}
	sort.Strings(stored.Groups)
	return stored
}

// Contacts returns user's roster with the shared groups merged in, and its
// version string: the stored version, plus a checksum of the shared part
// when there is one (so a change of group membership changes it).
func (m *Module) Contacts(ctx context.Context, user string) ([]directory.RosterItem, string, error) {
	items, ver, err := m.h.Store().Roster(ctx, user)
	if err != nil {
		return nil, "", fmt.Errorf("roster: %w", err)
	}
	shared, err := m.sharedItems(ctx, user)
	if err != nil {
		return nil, "", err
	}
	v := strconv.FormatInt(ver, 10)
	if len(shared) == 0 {
		return items, v, nil
	}
	for i, it := range items {
		if s, ok := shared[it.JID]; ok {
			items[i] = merge(it, s)
			delete(shared, it.JID)
		}
	}
	var sum strings.Builder
	for _, s := range shared {
		items = append(items, s)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].JID < items[j].JID })
	for _, it := range items {
		sum.WriteString(it.JID + "/" + it.Subscription + "/" + strings.Join(it.Groups, ",") + ";")
	}
	return items, v + "-" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(sum.String()))), 36), nil
}

// Contact returns one roster item of user, shared groups included.
func (m *Module) Contact(ctx context.Context, user, contact string) (directory.RosterItem, bool, error) {
	it, ok, err := m.h.Store().Item(ctx, user, contact)
	if err != nil {
		return it, false, fmt.Errorf("roster: %w", err)
	}
	shared, err := m.sharedItems(ctx, user)
	if err != nil {
		return it, ok, err
	}
	if s, in := shared[contact]; in {
		if ok {
			return merge(it, s), true, nil
		}
		return s, true, nil
	}
	return it, ok, nil
}
