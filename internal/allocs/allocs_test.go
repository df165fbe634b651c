package allocs

import "testing"

var sink []byte

// TestBound: an allocation over the limit fails, one under it does not.
func TestBound(t *testing.T) {
	inner := &testing.T{}
	done := make(chan bool)
	go func() {
		defer func() { done <- inner.Failed() }()
		defer Bound(inner, 1<<20)()
		sink = make([]byte, 4<<20)
	}()
	if !<-done {
		t.Error("4 MB under a 1 MB bound passed")
	}
	func() {
		defer Bound(t, 8<<20)()
		sink = make([]byte, 1<<20)
	}()
}
