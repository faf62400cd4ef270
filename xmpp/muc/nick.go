package muc

import (
	"errors"
	"strings"
	"unicode"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/rangetable"
)

// mappedToNothing are the characters of RFC 3454 table B.1 (soft hyphen,
// joiners, variation selectors...): invisible, removed before checking.
var mappedToNothing = strings.NewReplacer(
	"\u00AD", "", "\u034F", "", "\u1806", "", "\u180B", "", "\u180C", "", "\u180D", "",
	"\u200B", "", "\u200C", "", "\u200D", "", "\u2060", "", "\uFEFF", "",
	"\uFE00", "", "\uFE01", "", "\uFE02", "", "\uFE03", "", "\uFE04", "", "\uFE05", "",
	"\uFE06", "", "\uFE07", "", "\uFE08", "", "\uFE09", "", "\uFE0A", "", "\uFE0B", "",
	"\uFE0C", "", "\uFE0D", "", "\uFE0E", "", "\uFE0F", "",
)

// assigned is the oldest Unicode repertoire x/text knows. Nicknames are
// checked against it the way stringprep servers check stored strings
// ("strict" resourceprep): characters the old clients in a room cannot
// know, such as emoji, are refused.
var assigned = rangetable.Assigned("4.1.0")

var errNick = errors.New("muc: invalid nickname")

// nickprep prepares a nickname; the result is the occupant's nick.
func nickprep(s string) (string, error) {
	s = mappedToNothing.Replace(s)
	n, err := precis.Nickname.String(s)
	if err != nil || n == "" {
		return "", errNick
	}
	for _, c := range n {
		if !unicode.Is(assigned, c) {
			return "", errNick
		}
	}
	return n, nil
}
