package jsonwrite_test

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain/jsonwrite"
)

func TestAppendUUIDIsString(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	ids := []uuid.UUID{uuid.Nil, uuid.Max}
	for range 100 {
		var id uuid.UUID
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		assert.Equal(t, id.String(), string(jsonwrite.AppendUUID([]byte("x"), id))[1:])
	}
}

func TestAppendStringIsJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	rows := []string{"", "plain", `quote " back \`, "<a href>&", "tab\tnl\n\x00\x1f\x7f", "é 日本", "bad\xffutf8", "sep\u2028\u2029"}
	for range 500 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] = byte(0x20 + r.IntN(0x5f))
			}
		}
		rows = append(rows, string(b))
	}
	for _, s := range rows {
		want, err := json.Marshal(s)
		assert.NoError(t, err)
		assert.Equal(t, string(want), string(jsonwrite.AppendString(nil, s)), "%q", s)
	}
}

func TestRawOmitEmptyIsJSONMarshal(t *testing.T) {
	// Goal: a json.RawMessage field is written as json.Marshal writes it,
	// whether it is copied as it is (compact JSON) or compacted (JSON with
	// spaces, or that jsonscan declines), and the JSON json.Marshal would
	// write otherwise (escaped or invalid) fails the writer.
	type field struct {
		M json.RawMessage `json:"m,omitempty"`
	}
	for _, tc := range []struct {
		raw    string
		failed bool
	}{
		{``, false}, {`{}`, false}, {`null`, false}, {`{"a":"b c","d":[1,2.5e3,null]}`, false},
		{` { "a" : "b c" , "d" : [ 1 , 2 ] } `, false}, {"{\n\t\"a\": 1\r\n}", false},
		{"{\"a\":\"\xff\"}", false}, {`{"a":"\ud800"}`, false}, {`{"a":"\ud83d\ude00"}`, false},
		{`{"a":"<b>"}`, true}, {`{"a":"&"}`, true}, {"{\"a\":\"\u2028\"}", true},
		{`{"a":`, true}, {`{"a":1}{}`, true}, {`{"a":1,}`, true},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			w := jsonwrite.Writer{}
			w.Open()
			w.RawOmitEmpty("m", json.RawMessage(tc.raw))
			w.Close()
			require.Equal(t, tc.failed, w.Failed())
			if tc.failed {
				return
			}
			want, err := json.Marshal(field{M: json.RawMessage(tc.raw)})
			require.NoError(t, err)
			assert.Equal(t, string(want), string(w.B))
		})
	}
}
