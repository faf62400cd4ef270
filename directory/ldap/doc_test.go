package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

// TestDocExamples loads the TOML examples of docs/ldap.md with conf.Load,
// so the documentation cannot drift from the config keys.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(ldaptest.TestdataDir(), "..", "..", "docs", "ldap.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(doc), "```toml\n")[1:] {
		blocks = append(blocks, part[:strings.Index(part, "```")])
	}
	if len(blocks) < 2 {
		t.Fatalf("found %d toml examples in docs/ldap.md, want 2", len(blocks))
	}
	path := filepath.Join(t.TempDir(), "xmppd.toml")
	if err := os.WriteFile(path, []byte(strings.Join(blocks, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(path)
	if err != nil {
		t.Fatalf("docs/ldap.md examples: %v", err)
	}
	if c.Directory.LDAP.Attributes.Prefs["language"] != "preferredLanguage" || !c.Registration.Enabled {
		t.Fatalf("examples not applied: %+v", c.Directory.LDAP)
	}
}
