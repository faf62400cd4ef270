package interop

import (
	"reflect"
	"testing"
)

func TestScriptAccounts(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"resource stripped", "[Client] Romeo\n\tjid: romeo@localhost/dfaZpuxV\n\tpassword: password\n", []string{"romeo@localhost"}},
		{"two clients one account", "[Client] Juliet\n\tjid: juliet@localhost\n[Client] Juliet's phone\n\tjid: juliet@localhost/mobile\n", []string{"juliet@localhost"}},
		{"sorted, spelled as written", "[Client] B\n\tjid: preapprove-b@localhost\n[Client] A\n\tjid: preappove-a@localhost\n", []string{"preappove-a@localhost", "preapprove-b@localhost"}},
		{"jid in a stanza is not an account", "Romeo sends:\n\t<item jid: nurse@localhost/>\n", nil},
		{"none", "# nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range scriptAccounts(tt.text) {
				if a.Password != "password" {
					t.Errorf("%s: password %q, want \"password\"", a.JID, a.Password)
				}
				got = append(got, a.JID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
