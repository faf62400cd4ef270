//go:build race

package interop

// raceEnabled: `go test -race` also builds xmppd with the race detector, so
// a data race inside the server fails its SIGTERM exit check.
const raceEnabled = true
