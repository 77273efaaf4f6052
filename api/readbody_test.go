package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAllWithAnnouncedLength(t *testing.T) {
	body := strings.Repeat("0123456789", 300)
	rows := []struct {
		name   string
		length int64
	}{
		{"unknown length", -1},
		{"exact length", int64(len(body))},
		{"announced shorter than the body", 10},
		{"announced longer than the body", int64(len(body)) * 2},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			// OneByteReader: every path through the read loop is taken.
			got, err := readAllTo(nil, iotest.OneByteReader(strings.NewReader(body)), row.length)
			require.NoError(t, err)
			assert.Equal(t, body, string(got))
		})
	}
	_, err := readAllTo(nil, iotest.ErrReader(iotest.ErrTimeout), 100)
	require.ErrorIs(t, err, iotest.ErrTimeout)
}

func TestReadBodyReturnsTheBodyTheMiddlewareRead(t *testing.T) {
	// Goal: once the Idempotent middleware has read a keyed write's body,
	// ReadBody returns those bytes from the scope and never reads r.Body,
	// which is spent; the key is in the scope too.
	r, sc := withScope(httptest.NewRequest("POST", "/calls", iotest.ErrReader(iotest.ErrTimeout)), "req-1")
	sc.idempotencyKey = "k-1"
	sc.body, sc.bodyRead = []byte(`{"a":1}`), true
	got, err := ReadBody(r)
	require.NoError(t, err)
	assert.Equal(t, `{"a":1}`, string(got))
	assert.Equal(t, "k-1", IdempotencyKeyFrom(r.Context()))
	assert.Empty(t, IdempotencyKeyFrom(context.Background()))
}

func TestKeyedWriteBodyOfUnknownLength(t *testing.T) {
	// Goal: a keyed write whose body announces no length (chunked) is
	// capped by its one read, in the Idempotent middleware (413, nothing
	// written), and a body under the cap reaches the handler whole: the
	// write runs once and its retry is replayed.
	ts := newTestServer(t)
	post := func(body, key string) response {
		t.Helper()
		// A reader http.NewRequest cannot measure: sent chunked.
		req, err := http.NewRequest("POST", ts.URL+"/calls/upsert", io.MultiReader(strings.NewReader(body)))
		require.NoError(t, err)
		require.EqualValues(t, 0, req.ContentLength)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(IdempotencyKeyHeader, key)
		return ts.send(t, req)
	}
	big := `{"provider_metadata": {"x": "` + strings.Repeat("a", DefaultBodyBytesMax) + `"}}`
	res := post(big, "big-1")
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.Status, "%s", res.Body)
	assert.Empty(t, ts.events(t))

	first := post(moonbaseBody("chunked-1", "ringing"), "chunked-1")
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Body)
	n := len(ts.events(t))
	require.NotZero(t, n)
	again := post(moonbaseBody("chunked-1", "ringing"), "chunked-1")
	require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, string(first.Body), string(again.Body))
	assert.Len(t, ts.events(t), n)
}

func TestABodyThatStartsWithAByteOrderMark(t *testing.T) {
	// Goal: a body that starts with a UTF-8 byte order mark (which .NET's
	// and PowerShell's writers send, and RFC 8259 lets a parser ignore) is
	// read as the body after it, on every surface that takes a body, JSON
	// or form; a probe found the JSON ones a 400. A mark inside the body
	// is no mark: it stays a 400.
	ts := newTestServer(t)
	const bom = "\uFEFF"
	id := ts.upsertID(t, moonbaseBody("bom-history", "completed"))
	vonage := ts.createVoiceCall(t, tokenA, "bom-put", nil)
	laml := lamlCallsPath(lamlPrefix, acctA) + ".json"
	for _, tc := range []struct {
		name   string
		send   func(body string) response
		body   string
		status int
		// field of the answer holds want.
		field, want string
	}{
		{"MoonbaseUpsert", func(b string) response { return ts.do(t, "POST", "/calls/upsert", tokenA, b) },
			moonbaseBody("bom-upsert", "completed"), http.StatusOK, "provider_id", "bom-upsert"},
		{"MoonbaseCreate", func(b string) response { return ts.do(t, "POST", "/calls", tokenA, b) },
			moonbaseBody("bom-create", "completed"), http.StatusCreated, "provider_id", "bom-create"},
		{"CallHistoryPatch", func(b string) response { return ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, b) },
			`{"notes":"from a Windows client"}`, http.StatusOK, "notes", "from a Windows client"},
		{"VoiceCallCreate", func(b string) response { return ts.do(t, "POST", "/v1/voice-calls", tokenA, b) },
			voiceCallBody(t, "bom-create", nil), http.StatusCreated, "sourceId", "bom-create"},
		{"VoiceCallPut", func(b string) response { return ts.do(t, "PUT", "/v1/voice-calls/"+vonage, tokenA, b) },
			voiceCallBody(t, "bom-put", map[string]any{"summary": "put with a mark"}), http.StatusOK, "summary", "put with a mark"},
		{"LaMLJSON", func(b string) response {
			return ts.lamlDo(t, "POST", laml, acctA, tokenA, b, "Content-Type", "application/json")
		}, `{"From":"+14155550101","To":"+14155550102","Url":"https://example.com/twiml"}`, http.StatusCreated, "from", "+14155550101"},
		{"LaMLForm", func(b string) response { return ts.lamlDo(t, "POST", laml, acctA, tokenA, b) },
			formBody("From", "+14155550103", "To", "+14155550104", "Url", "https://example.com/twiml"), http.StatusCreated, "from", "+14155550103"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.send(bom + tc.body)
			require.Equal(t, tc.status, res.Status, "body: %s", res.Body)
			assert.Equal(t, tc.want, res.JSON(t)[tc.field])
		})
	}
	res := ts.do(t, "POST", "/calls/upsert", tokenA, `{"provider":`+bom+`"openphone"}`)
	assert.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
}
