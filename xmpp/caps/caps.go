// Package caps implements XEP-0115: Entity Capabilities. It computes the
// verification string of a disco#info answer (section 5.1, SHA-1) and
// builds the <c/> element the server advertises in its stream features.
package caps

import (
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// NS is the namespace of the <c/> element.
const NS = "http://jabber.org/protocol/caps"

// NSData is the XEP-0004 data forms namespace (extended info, XEP-0128).
const NSData = "jabber:x:data"

// Hash is the hash function name of the verification strings made here.
const Hash = "sha-1"

// identity is a disco identity with its xml:lang, which the hash includes.
type identity struct {
	module.Identity
	Lang string
}

// Ver returns the XEP-0115 verification string of a disco#info answer:
// its identities, features and extended-information forms (jabber:x:data
// elements; forms without a FORM_TYPE field are ignored, per 5.4).
func Ver(ids []module.Identity, features []string, forms ...*dom.Element) string {
	l := make([]identity, len(ids))
	for i, id := range ids {
		l[i] = identity{Identity: id}
	}
	return ver(l, features, forms)
}

func ver(ids []identity, features []string, forms []*dom.Element) string {
	var b strings.Builder
	ids = append([]identity(nil), ids...)
	sort.Slice(ids, func(i, j int) bool {
		a, c := ids[i], ids[j]
		if a.Category != c.Category {
			return a.Category < c.Category
		}
		if a.Type != c.Type {
			return a.Type < c.Type
		}
		return a.Lang < c.Lang
	})
	for _, id := range ids {
		b.WriteString(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name + "<")
	}
	features = append([]string(nil), features...)
	sort.Strings(features)
	for _, f := range features {
		b.WriteString(f + "<")
	}
	writeForms(&b, forms)
	sum := sha1.Sum([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(sum[:])
}

type form struct {
	typ    string
	fields map[string][]string
}

// writeForms appends the forms sorted by FORM_TYPE, each field sorted by
// var with its values sorted (XEP-0115 5.1 step 7).
func writeForms(b *strings.Builder, forms []*dom.Element) {
	var fs []form
	for _, x := range forms {
		if x == nil || x.Space != NSData || x.Local != "x" {
			continue
		}
		f := form{fields: map[string][]string{}}
		hasType := false
		for _, fld := range x.All(NSData, "field") {
			var vals []string
			for _, v := range fld.All(NSData, "value") {
				vals = append(vals, v.Text)
			}
			if fld.Get("var") == "FORM_TYPE" {
				hasType = true
				if len(vals) > 0 {
					f.typ = vals[0]
				}
				continue
			}
			f.fields[fld.Get("var")] = vals
		}
		if hasType {
			fs = append(fs, f)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].typ < fs[j].typ })
	for _, f := range fs {
		b.WriteString(f.typ + "<")
		vars := make([]string, 0, len(f.fields))
		for v := range f.fields {
			vars = append(vars, v)
		}
		sort.Strings(vars)
		for _, v := range vars {
			b.WriteString(v + "<")
			vals := append([]string(nil), f.fields[v]...)
			sort.Strings(vals)
			for _, val := range vals {
				b.WriteString(val + "<")
			}
		}
	}
}

// Element returns <c xmlns='http://jabber.org/protocol/caps' hash='sha-1'
// node='node' ver='ver'/>.
func Element(node, ver string) *dom.Element {
	return dom.New(NS, "c", "hash", Hash, "node", node, "ver", ver)
}
