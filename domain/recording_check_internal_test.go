package domain

import (
	"math/rand/v2"
	"mime"
	"net/url"
	"strings"
	"testing"
)

// TestPlainRecordingChecksAreTheParsers checks the fast paths of the
// recording checks against the parsers they spare: every URL plainHTTPURL
// takes, url.Parse takes as http(s) with a host, and every media type
// plainAVMediaType takes, mime.ParseMediaType takes as audio or video; and
// validURL and checkRecordingContentType say what the parsers alone say,
// over generated strings near both forms.
func TestPlainRecordingChecksAreTheParsers(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	gen := func(prefixes, pieces []string) string {
		var b strings.Builder
		b.WriteString(prefixes[r.IntN(len(prefixes))])
		for range r.IntN(8) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	urlPrefixes := []string{"http://", "https://", "https://", "HTTPS://", "https:/", "https:", "ftp://", "", "//"}
	plainURLPieces := []string{"a", "example.com", "Z", "0", "-", ".", "_", "~", "/", "/r1.mp3"}
	urlPieces := append([]string{":", ":8080", "@", "?", "?a=1", "#", "#f", "%", "%41", "%zz", "[", "]", "[::1]", " ",
		"\n", "\x7f", "é", "+", ",", ";", "=", "\\"}, plainURLPieces...)
	reference := func(s string) bool {
		u, err := url.Parse(s)
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
	}
	plain := 0
	for range 20000 {
		pieces := urlPieces
		if r.IntN(2) == 0 {
			pieces = plainURLPieces
		}
		s := gen(urlPrefixes, pieces)
		want := reference(s)
		if plainHTTPURL(s) {
			plain++
			if !want {
				t.Fatalf("plainHTTPURL took %q, which url.Parse does not take as an http(s) URL with a host", s)
			}
		}
		if got := validURL(s); got != want {
			t.Fatalf("validURL(%q) = %v, url.Parse says %v", s, got, want)
		}
	}
	if plain < 1000 {
		t.Fatalf("only %d URLs took the fast path", plain)
	}

	typePrefixes := []string{"audio/", "video/", "AUDIO/", "audio", "text/", "", " audio/"}
	plainTypePieces := []string{"mpeg", "MP4", "x-wav", "ogg", "+", ".", "*", "!", "#", "~"}
	typePieces := append([]string{"/", ";", "; rate=8000", " ", "=", "\"", "é", "\t", "(", "@", "\x7f"}, plainTypePieces...)
	plain = 0
	for i := range 20000 {
		pieces := typePieces
		if r.IntN(2) == 0 {
			pieces = plainTypePieces
		}
		v := gen(typePrefixes, pieces)
		mt, _, err := mime.ParseMediaType(v)
		want := err == nil && (strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/"))
		if plainAVMediaType(v) {
			plain++
			if !want {
				t.Fatalf("plainAVMediaType took %q, which mime.ParseMediaType does not take as audio or video", v)
			}
		}
		if got := checkRecordingContentType(ListField{"recordings", i}, v) == nil; got != want {
			t.Fatalf("checkRecordingContentType(%q) took it: %v, mime.ParseMediaType says %v", v, got, want)
		}
	}
	if plain < 1000 {
		t.Fatalf("only %d media types took the fast path", plain)
	}
}
