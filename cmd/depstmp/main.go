package main
import (
 _ "mellium.im/xmpp/jid"
 _ "mellium.im/xmpp/stanza"
 _ "mellium.im/xmpp/stream"
 _ "mellium.im/xmpp/form"
 _ "mellium.im/xmpp/delay"
 _ "mellium.im/xmpp"
 _ "mellium.im/sasl"
 _ "github.com/go-ldap/ldap/v3"
 _ "github.com/dgraph-io/ristretto/v2"
 _ "github.com/BurntSushi/toml"
 _ "modernc.org/sqlite"
 _ "github.com/hashicorp/yamux"
 _ "github.com/pires/go-proxyproto"
 _ "golang.org/x/crypto/pbkdf2"
)
func main(){}
