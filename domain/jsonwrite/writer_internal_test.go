package jsonwrite

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarshalEscapesIsContainsAny(t *testing.T) {
	// Goal: the byte search finds exactly what bytes.ContainsAny finds with
	// the five characters json.Marshal escapes, over strings built from the
	// bytes that matter (the separators' bytes, invalid UTF-8 included).
	alphabet := []string{"a", " ", "<", ">", "&", "\u2028", "\u2029", "\xe2", "\x80", "\xa8", "\xa9", "\xf0", "é", "\""}
	rng := rand.New(rand.NewPCG(7, 11))
	for range 20000 {
		var b []byte
		for range rng.IntN(12) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		require.Equal(t, bytes.ContainsAny(b, "<>&\u2028\u2029"), marshalEscapes(b), "%q", b)
	}
}

func TestPlainByteIsTheComparisons(t *testing.T) {
	// Goal: the mask says of every byte what AppendString's comparisons said.
	for c := range 256 {
		b := byte(c)
		want := !(b < 0x20 || b > 0x7e || b == '"' || b == '\\' || b == '<' || b == '>' || b == '&')
		require.Equal(t, want, plainByte(b), "byte %#x", b)
	}
}
