// Package reporttest checks rendered report pages in tests.
package reporttest

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"regexp"
	"strconv"
	"testing"
)

var imgSrc = regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)"`)

// CheckImages decodes every plot embedded in page, checks that each is
// drawn at 144 dpi for its CSS box at 96 dpi (1.5× the attributes) and at
// least 300×200, and returns how many there are.
func CheckImages(t testing.TB, page string) int {
	t.Helper()
	matches := imgSrc.FindAllStringSubmatch(page, -1)
	for i, m := range matches {
		data, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("image %d: base64: %v", i, err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("image %d: png: %v", i, err)
		}
		b := img.Bounds()
		w, _ := strconv.Atoi(m[2])
		h, _ := strconv.Atoi(m[3])
		if abs(b.Dx()-w*3/2) > 2 || abs(b.Dy()-h*3/2) > 2 || w < 300 || h < 200 {
			t.Errorf("image %d: %dx%d pixels for a %dx%d box", i, b.Dx(), b.Dy(), w, h)
		}
	}
	return len(matches)
}

func abs(x int) int { return max(x, -x) }
