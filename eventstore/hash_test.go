package eventstore

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

// TestChainHashesAreAStoredFormat pins both chain hashes to values computed
// when the format was defined: every stored hash must verify forever, so
// any change of the encoding, however it is computed, fails here.
func TestChainHashesAreAStoredFormat(t *testing.T) {
	id := uuid.MustParse("0193a0c4-7b1e-7c3a-9d2f-4e5a6b7c8d9e")
	var prev Hash
	for i := range prev {
		prev[i] = byte(i)
	}
	var h Hasher // a reused Hasher computes the same hashes as ChainHash
	rows := []struct {
		name string
		got  Hash
		want string
	}{
		{"stream, first event", ChainHash(Hash{}, "call-1", 0, id, "CallUpserted", []byte(`{"a":1}`), []byte(`{"m":2}`)),
			"1b1465e359a4c02022cd8f966b0595679858f72b8999594219b00ef025e5533d"},
		{"stream, later event, empty data", ChainHash(prev, "call-2", 7, id, "CallPriced", nil, nil),
			"77f082d3ba7f98a7880fbb63064b8b6d3288311c6568b27c74c0f381602a87ae"},
		{"stream, reused Hasher", h.Chain(Hash{}, "call-1", 0, id, "CallUpserted", []byte(`{"a":1}`), []byte(`{"m":2}`)),
			"1b1465e359a4c02022cd8f966b0595679858f72b8999594219b00ef025e5533d"},
		{"stream, reused Hasher again", h.Chain(prev, "call-2", 7, id, "CallPriced", nil, nil),
			"77f082d3ba7f98a7880fbb63064b8b6d3288311c6568b27c74c0f381602a87ae"},
		{"$all, first event", AllChainHash(Hash{}, Position{Commit: 1, Prepare: 1}, mustHash(t, "1b1465e359a4c02022cd8f966b0595679858f72b8999594219b00ef025e5533d")),
			"852b5b51ee80e293f20d12c9f60349c778379f85b985dc37c5af6e3df18db5ef"},
		{"$all, later event", AllChainHash(prev, Position{Commit: 9, Prepare: 8}, mustHash(t, "77f082d3ba7f98a7880fbb63064b8b6d3288311c6568b27c74c0f381602a87ae")),
			"0f1f692601d600c6e86db52807bc326a6b2c0a928f64a643126d360bbb79b047"},
	}
	for _, row := range rows {
		assert.Equal(t, row.want, row.got.String(), row.name)
	}
}

func mustHash(t *testing.T, s string) Hash {
	t.Helper()
	var h Hash
	if err := h.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestChainHashSizesItsBufferOnce checks that ChainHash allocates its
// encoding once, at its full length, rather than growing it field by field,
// and that a reused Hasher (as the kurrent backend keeps one for the events
// of an append), once grown, does not allocate.
func TestChainHashSizesItsBufferOnce(t *testing.T) {
	id := uuid.MustParse("0193a0c4-7b1e-7c3a-9d2f-4e5a6b7c8d9e")
	data := make([]byte, 700)
	metadata := make([]byte, 200)
	allocs := testing.AllocsPerRun(10, func() {
		ChainHash(Hash{}, "call-0193a0c4-7b1e-7c3a-9d2f-4e5a6b7c8d9e", 3, id, "CallUpserted", data, metadata)
	})
	assert.Equal(t, 1.0, allocs, "ChainHash")
	var h Hasher
	h.Chain(Hash{}, "call-1", 3, id, "CallUpserted", data, metadata)
	allocs = testing.AllocsPerRun(10, func() {
		h.Chain(Hash{}, "call-1", 4, id, "CallUpserted", data, metadata)
	})
	assert.Equal(t, 0.0, allocs, "a reused Hasher")
}
