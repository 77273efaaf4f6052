package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// seedUpsert is the request of seed 000, with an offset start time, a
// recording and a transcript added.
const seedUpsert = `{
  "direction": "incoming",
  "participants": [
    { "phone": "+14155551212", "role": "caller" },
    { "phone": "+16505551212", "role": "callee" }
  ],
  "provider": "openphone",
  "provider_id": "openphone_id_000000000006",
  "provider_status": "completed",
  "start_at": "2025-02-17T16:00:00.000+01:00",
  "answered_at": "2025-02-17T15:01:00Z",
  "end_at": "2025-02-17T15:30:00.000Z",
  "provider_metadata": {
    "answered_by": "UShjUatqtF",
    "user_id": "UShjUatqtF",
    "phone_number_id": "PN72zMikBJ",
    "conversation_id": "CN3b48bcc423e772aeba377414a4fa6a06"
  },
  "recordings": [{"content_type": "audio/mpeg", "provider_id": "REC1", "url": "https://example.com/r1.mp3"}],
  "transcript": {"cues": [{"from": 0, "to": 1.50, "speaker": "+14155551212", "text": "Hello"}]},
  "some_future_field": {"ignored": true}
}`

// moonbaseBody builds a minimal valid upsert body for provider id pid.
func moonbaseBody(pid, status string) string {
	return fmt.Sprintf(`{"direction":"outgoing","participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}],
"provider":"openphone","provider_id":%q,"provider_status":%q,"start_at":"2025-03-01T10:00:00Z"}`, pid, status)
}

func TestMoonbaseUpsertSeed(t *testing.T) {
	// Goal: the seed's upsert creates a call answered in the seed's shape;
	// the same upsert again changes nothing (no event) and keeps every id.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	call := res.JSON(t)
	id := call["id"].(string)
	assert.Equal(t, "call", call["type"])
	assert.Equal(t, "incoming", call["direction"])
	assert.Equal(t, "openphone", call["provider"])
	assert.Equal(t, "openphone_id_000000000006", call["provider_id"])
	assert.Equal(t, "completed", call["provider_status"])
	assert.Equal(t, "2025-02-17T15:00:00.000Z", call["start_at"], "offsets are stored and returned in UTC")
	assert.Equal(t, "2025-02-17T15:01:00.000Z", call["answered_at"])
	assert.Equal(t, "2025-02-17T15:30:00.000Z", call["end_at"])
	assert.Equal(t, map[string]any{"answered_by": "UShjUatqtF", "user_id": "UShjUatqtF",
		"phone_number_id": "PN72zMikBJ", "conversation_id": "CN3b48bcc423e772aeba377414a4fa6a06"}, call["provider_metadata"])
	parts := call["participants"].([]any)
	require.Len(t, parts, 2)
	p0 := parts[0].(map[string]any)
	assert.Equal(t, "call_participant", p0["type"])
	assert.Equal(t, "caller", p0["role"])
	assert.Equal(t, "+14155551212", p0["phone"])
	assert.Equal(t, "item", p0["person"].(map[string]any)["type"])
	assert.NotEmpty(t, p0["id"])
	assert.Equal(t, []any{map[string]any{"content_type": "audio/mpeg", "provider_id": "REC1", "url": "https://example.com/r1.mp3"}}, call["recordings"])
	assert.Contains(t, string(res.Body), `"to":1.50`, "decimals keep their scale")
	etag := res.Header.Get("ETag")
	assert.NotEmpty(t, etag)
	events := len(ts.events(t))
	assert.Greater(t, events, 1, "the upsert records what happened, event by event")

	again := ts.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, again.Status)
	assert.Equal(t, compactJSON(t, res.Body), compactJSON(t, again.Body), "an upsert that changes nothing answers the same call")
	assert.Len(t, ts.events(t), events, "an upsert that changes nothing appends nothing")
	assert.Equal(t, etag, again.Header.Get("ETag"))

	got := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, compactJSON(t, res.Body), compactJSON(t, got.Body), "read after write sees the write")
	assert.Equal(t, etag, got.Header.Get("ETag"))

	// The same phone in the same account is the same person, on any call.
	other := ts.do(t, "POST", "/calls/upsert", tokenA, strings.Replace(seedUpsert, "openphone_id_000000000006", "other", 1)).JSON(t)
	assert.NotEqual(t, id, other["id"])
	assert.Equal(t, p0["person"], other["participants"].([]any)[0].(map[string]any)["person"])
	assert.NotEqual(t, p0["id"], other["participants"].([]any)[0].(map[string]any)["id"])
	// ... and in another account, another person.
	b := ts.do(t, "POST", "/calls/upsert", tokenB, seedUpsert).JSON(t)
	assert.NotEqual(t, id, b["id"])
	assert.NotEqual(t, p0["person"], b["participants"].([]any)[0].(map[string]any)["person"])
}

func TestMoonbaseUpsertUpdatesAndOutOfOrder(t *testing.T) {
	// Goal: an upsert updates the call found by provider id; an update that
	// would move a completed call back to ringing keeps the status, applies
	// the rest and answers the call as it stands.
	ts := newTestServer(t)
	first := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("p1", "ringing")).JSON(t)
	id := first["id"].(string)
	done := ts.do(t, "POST", "/calls/upsert", tokenA, strings.Replace(moonbaseBody("p1", "completed"), `"start_at"`, `"answered_at":"2025-03-01T10:00:05Z","end_at":"2025-03-01T10:05:00Z","start_at"`, 1))
	require.Equal(t, http.StatusOK, done.Status, string(done.Body))
	assert.Equal(t, id, done.JSON(t)["id"])

	late := ts.do(t, "POST", "/calls/upsert", tokenA, strings.Replace(moonbaseBody("p1", "ringing"), `"start_at"`, `"provider_metadata":{"late":true},"start_at"`, 1))
	require.Equal(t, http.StatusOK, late.Status, string(late.Body))
	assert.Equal(t, map[string]any{"late": true}, late.JSON(t)["provider_metadata"], "the rest of a late update applies")
	hist := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "").JSON(t)
	assert.Equal(t, "completed", hist["status"], "a late update never moves a call backwards")
}

func TestMoonbaseCreateConflict(t *testing.T) {
	// Goal: POST /calls answers 201 with the new call's Location, and
	// refuses a provider id that exists with a 409 that tells the SDK not
	// to retry, in Moonbase's error shape.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls", tokenA, moonbaseBody("dup", "completed"))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	assert.Equal(t, "/calls/"+res.JSON(t)["id"].(string), res.Header.Get("Location"), "where the new call is read")
	n := len(ts.events(t))
	res = ts.do(t, "POST", "/calls", tokenA, moonbaseBody("DUP-not-same", "completed"))
	require.Equal(t, http.StatusCreated, res.Status)
	n = len(ts.events(t))

	res = ts.do(t, "POST", "/calls", tokenA, moonbaseBody("dup", "completed"))
	assert.Equal(t, http.StatusConflict, res.Status)
	assert.Equal(t, "false", res.Header.Get("x-should-retry"))
	errs := res.JSON(t)["errors"].([]any)
	require.Len(t, errs, 1)
	assert.Equal(t, "409", errs[0].(map[string]any)["status"])
	assert.Len(t, ts.events(t), n)

	// Provider names compare case-insensitively.
	res = ts.do(t, "POST", "/calls", tokenA, strings.Replace(moonbaseBody("dup", "completed"), `"openphone"`, `"OpenPhone"`, 1))
	assert.Equal(t, http.StatusConflict, res.Status)
}

func TestMoonbaseList(t *testing.T) {
	// Goal: GET /calls pages through the account's own calls with the
	// Moonbase cursor, newest first, and never shows another account's.
	ts := newTestServer(t)
	for i := range 5 {
		body := strings.Replace(moonbaseBody(fmt.Sprintf("l%d", i), "completed"), "10:00:00Z", fmt.Sprintf("10:0%d:00Z", i), 1)
		require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenA, body).Status)
	}
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenB, moonbaseBody("b0", "completed")).Status)

	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/calls?limit=2"
		if cursor != "" {
			path += "&after=" + cursor
		}
		res := ts.do(t, "GET", path, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		body := res.JSON(t)
		for _, c := range body["data"].([]any) {
			seen = append(seen, c.(map[string]any)["provider_id"].(string))
		}
		next := body["meta"].(map[string]any)["cursor"].(map[string]any)["next"]
		if next == nil {
			break
		}
		cursor = next.(string)
	}
	assert.Equal(t, []string{"l4", "l3", "l2", "l1", "l0"}, seen)

	b := ts.do(t, "GET", "/calls", tokenB, "").JSON(t)
	assert.Len(t, b["data"], 1)

	assert.Equal(t, http.StatusBadRequest, ts.do(t, "GET", "/calls?limit=0", tokenA, "").Status)
	assert.Equal(t, http.StatusBadRequest, ts.do(t, "GET", "/calls?after=garbage", tokenA, "").Status)
	twice := ts.do(t, "GET", "/calls?limit=5&limit=6", tokenA, "")
	assert.Equal(t, http.StatusBadRequest, twice.Status, "a repeated limit is not read as its first")
	assert.Contains(t, string(twice.Body), "limit")
}

// moonbasePage is one page of GET /calls: its calls' provider ids and its
// cursors ("" for null).
type moonbasePage struct {
	ProviderIDs []string
	Next, Prev  string
}

// moonbaseList GETs /calls?query as token's account and returns the page,
// checking that meta.cursor has both next and prev, as strings or null.
func (ts *testServer) moonbaseList(t testing.TB, token, query string) moonbasePage {
	t.Helper()
	res := ts.do(t, "GET", "/calls?"+query, token, "")
	require.Equal(t, http.StatusOK, res.Status, "%s: %s", query, res.Body)
	var body struct {
		Data []struct {
			ProviderID string `json:"provider_id"`
		} `json:"data"`
		Meta struct {
			Cursor map[string]*string `json:"cursor"`
		} `json:"meta"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body), "%s", res.Body)
	require.NotNil(t, body.Data, "data is a list, never null: %s", res.Body)
	var page moonbasePage
	for _, c := range body.Data {
		page.ProviderIDs = append(page.ProviderIDs, c.ProviderID)
	}
	for name, into := range map[string]*string{"next": &page.Next, "prev": &page.Prev} {
		v, ok := body.Meta.Cursor[name]
		require.True(t, ok, "meta.cursor.%s is always there: %s", name, res.Body)
		if v != nil {
			require.NotEmpty(t, *v, "a cursor is null or not empty")
			*into = *v
		}
	}
	return page
}

func TestMoonbaseListBefore(t *testing.T) {
	// Goal: before=<cursor> lists the limit calls just before the call the
	// cursor names, newest first as every page, as the Moonbase SDK's
	// calls.list({before}) documents it. meta.cursor.prev names a page's
	// first call, so that walking back with before=prev from the last page
	// gives every page of the walk forward again, cursors included, for
	// any limit; it is null on the first page, and on a page nothing is
	// before. Soft-deleted calls and other accounts' calls stay out both
	// ways.
	ts := newTestServer(t)
	callIDs := map[string]string{}
	for i := range 8 {
		// Two calls per start time: ties are ordered by call id.
		pid := fmt.Sprintf("mb%d", i)
		body := strings.Replace(moonbaseBody(pid, "completed"), "10:00:00Z", fmt.Sprintf("10:%02d:00Z", i/2*10), 1)
		res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		callIDs[pid] = res.JSON(t)["id"].(string)
	}
	for i := range 3 {
		body := strings.Replace(moonbaseBody(fmt.Sprintf("b%d", i), "completed"), "10:00:00Z", fmt.Sprintf("10:%02d:00Z", i*10+5), 1)
		require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenB, body).Status)
	}
	for _, pid := range []string{"mb0", "mb4"} {
		require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+callIDs[pid], tokenA, "").Status)
	}

	all := ts.moonbaseList(t, tokenA, "limit=100").ProviderIDs
	require.ElementsMatch(t, []string{"mb1", "mb2", "mb3", "mb5", "mb6", "mb7"}, all, "neither deleted calls nor account B's")
	startOf := func(pid string) int { return int(pid[2]-'0') / 2 } // in tens of minutes
	require.True(t, slices.IsSortedFunc(all, func(a, b string) int { return startOf(b) - startOf(a) }), "newest first: %v", all)

	for _, limit := range []int{1, 2, 4, 5, 6, 7} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var pages []moonbasePage
			for query := fmt.Sprintf("limit=%d", limit); ; {
				pages = append(pages, ts.moonbaseList(t, tokenA, query))
				next := pages[len(pages)-1].Next
				if next == "" {
					break
				}
				query = fmt.Sprintf("limit=%d&after=%s", limit, next)
				require.Less(t, len(pages), len(all)+1)
			}
			var walked []string
			for _, pg := range pages {
				walked = append(walked, pg.ProviderIDs...)
			}
			require.Equal(t, all, walked)
			assert.Empty(t, pages[0].Prev, "nothing is before the first page")

			for i := len(pages) - 1; i > 0; i-- {
				require.NotEmpty(t, pages[i].Prev, "page %d has a page before it", i)
				back := ts.moonbaseList(t, tokenA, fmt.Sprintf("limit=%d&before=%s", limit, pages[i].Prev))
				assert.Equal(t, pages[i-1], back, "before page %d's prev is page %d, cursors and all", i, i-1)
				// Any cursor goes either way: after prev are the calls
				// after the page's first.
				first := i * limit
				fwd := ts.moonbaseList(t, tokenA, fmt.Sprintf("limit=%d&after=%s", limit, pages[i].Prev))
				assert.Equal(t, all[first+1:min(first+1+limit, len(all))], orEmpty(fwd.ProviderIDs), "after page %d's prev", i)
			}

			// The SDKs' next-page helpers add after to the request they
			// follow and keep its before: after is read.
			if len(pages) > 2 {
				back := ts.moonbaseList(t, tokenA, fmt.Sprintf("limit=%d&before=%s", limit, pages[2].Prev))
				next := ts.moonbaseList(t, tokenA, fmt.Sprintf("limit=%d&before=%s&after=%s", limit, pages[2].Prev, back.Next))
				assert.Equal(t, pages[2], next, "the page after the one before page 2 is page 2")
			}

			// The QA report's request: before the cursor that names the
			// first page's last call are the limit calls before that call.
			if pages[0].Next != "" {
				last := len(pages[0].ProviderIDs) - 1
				got := ts.moonbaseList(t, tokenA, fmt.Sprintf("limit=%d&before=%s", limit, pages[0].Next))
				assert.Equal(t, all[max(0, last-limit):last], orEmpty(got.ProviderIDs), "before the first page's next")
			}
		})
	}

	// A cursor that names the newest call has nothing before it.
	first := ts.moonbaseList(t, tokenA, "limit=1")
	require.Equal(t, all[:1], first.ProviderIDs)
	none := ts.moonbaseList(t, tokenA, "limit=3&before="+first.Next)
	assert.Empty(t, none.ProviderIDs)
	assert.Empty(t, none.Prev, "prev is null: nothing is before")

	// Account A's cursor names a place in B's list, and shows only B's calls.
	for _, query := range []string{"before=" + first.Next, "after=" + first.Next} {
		for _, pid := range ts.moonbaseList(t, tokenB, query).ProviderIDs {
			assert.Contains(t, []string{"b0", "b1", "b2"}, pid, query)
		}
	}
}

// orEmpty is ids, or an empty slice for nil: a page without calls compares
// equal to an empty slice of all.
func orEmpty(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// alterCursor returns cursor with its i-th character replaced by another
// of base64url's alphabet.
func alterCursor(cursor string, i int) string {
	c := byte('A')
	if cursor[i] == c {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}

func TestMoonbaseListCursorErrors(t *testing.T) {
	// Goal: a cursor the ledger did not give out is a 400 naming the
	// parameter that carried it, before as after.
	ts := newTestServer(t)
	for i := range 3 {
		require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(fmt.Sprintf("e%d", i), "completed")).Status)
	}
	page := ts.moonbaseList(t, tokenA, "limit=1")
	require.NotEmpty(t, page.Next)
	for _, tc := range []struct {
		name, query, param string
		detail             []string
	}{
		{"MalformedAfter", "after=zzz", "after", []string{"after"}},
		{"MalformedBefore", "before=zzz", "before", []string{"before"}},
		{"TruncatedBefore", "before=" + page.Next[:len(page.Next)-4], "before", []string{"before"}},
		{"MalformedAfterWithBefore", "after=zzz&before=" + page.Next, "after", []string{"after"}},
		// A cursor the ledger gave out, altered: its check refuses it,
		// where any bytes of the right length named some place.
		{"AlteredAfter", "after=" + alterCursor(page.Next, 5), "after", []string{"after"}},
		{"AlteredBefore", "before=" + alterCursor(page.Next, len(page.Next)-8), "before", []string{"before"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "GET", "/calls?limit=1&"+tc.query, tokenA, "")
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			errs, ok := res.JSON(t)["errors"].([]any)
			require.True(t, ok, string(res.Body))
			e := errs[0].(map[string]any)
			assert.Equal(t, map[string]any{"parameter": tc.param}, e["source"])
			for _, name := range tc.detail {
				assert.Contains(t, e["detail"], name)
			}
		})
	}
}

func TestAccountIsolation(t *testing.T) {
	// Goal: another account's call is a 404 on every route, never data,
	// and nothing is written by trying.
	ts := newTestServer(t)
	id := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("iso", "completed")).JSON(t)["id"].(string)
	n := len(ts.events(t))
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/calls/" + id, ""},
		{"GET", "/v1/calls/" + id, ""},
		{"PATCH", "/v1/calls/" + id, `{"notes":"mine now"}`},
		{"DELETE", "/v1/calls/" + id, ""},
	} {
		res := ts.do(t, tc.method, tc.path, tokenB, tc.body)
		assert.Equal(t, http.StatusNotFound, res.Status, tc.method+" "+tc.path)
		assert.NotContains(t, string(res.Body), "iso")
	}
	assert.Len(t, ts.events(t), n)
	// The same provider id in account B is B's own call.
	b := ts.do(t, "POST", "/calls", tokenB, moonbaseBody("iso", "completed"))
	require.Equal(t, http.StatusCreated, b.Status)
	assert.NotEqual(t, id, b.JSON(t)["id"])
}

func TestIdempotencyKey(t *testing.T) {
	// Goal: a retry with the same key and body returns the first response
	// byte for byte and appends nothing; the same key with another body is
	// a 422; keys are per account.
	ts := newTestServer(t)
	first := ts.do(t, "POST", "/calls", tokenA, moonbaseBody("idem", "ringing"), IdempotencyKeyHeader, "k1")
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	n := len(ts.events(t))
	for _, r := range ts.events(t) {
		assert.Contains(t, string(r.Metadata), `"idempotency_key":"k1"`)
		assert.Contains(t, string(r.Metadata), `"surface":"moonbase"`)
		assert.Contains(t, string(r.Metadata), `"account_id":"acct-a"`)
		assert.Contains(t, string(r.Metadata), `"actor":"acct-a/`)
		assert.Contains(t, string(r.Metadata), `"request_id":"`)
	}

	retry := ts.do(t, "POST", "/calls", tokenA, moonbaseBody("idem", "ringing"), IdempotencyKeyHeader, "k1")
	assert.Equal(t, first.Status, retry.Status)
	assert.Equal(t, first.Body, retry.Body, "byte for byte")
	assert.NotEmpty(t, first.Header.Get("Location"))
	assert.Equal(t, first.Header.Get("Location"), retry.Header.Get("Location"))
	assert.Equal(t, first.Header.Get("ETag"), retry.Header.Get("ETag"))
	assert.Equal(t, "true", retry.Header.Get("Idempotent-Replayed"))
	assert.Len(t, ts.events(t), n)

	other := ts.do(t, "POST", "/calls", tokenA, moonbaseBody("idem2", "ringing"), IdempotencyKeyHeader, "k1")
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status)
	assert.Contains(t, string(other.Body), IdempotencyKeyHeader)
	assert.Len(t, ts.events(t), n)

	// A request no route takes (a wrong path, a wrong method) does not
	// spend its key: the retry at the right route runs.
	for _, wrong := range []struct{ method, path string }{{"POST", "/calls/upsert/oops"}, {"PUT", "/calls/upsert"}, {"POST", "/v1/voice-calls/x/y"}} {
		miss := ts.do(t, wrong.method, wrong.path, tokenA, moonbaseBody("idem-route", "ringing"), IdempotencyKeyHeader, "k-route")
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, miss.Status, string(miss.Body))
	}
	right := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("idem-route", "ringing"), IdempotencyKeyHeader, "k-route")
	assert.Equal(t, http.StatusOK, right.Status, string(right.Body))
	n = len(ts.events(t))

	// Account B may use the same key for its own request.
	b := ts.do(t, "POST", "/calls", tokenB, moonbaseBody("idem", "ringing"), IdempotencyKeyHeader, "k1")
	assert.Equal(t, http.StatusCreated, b.Status)

	// Concurrent retries with one key run once.
	var wg sync.WaitGroup
	bodies := make([][]byte, 8)
	for i := range bodies {
		wg.Go(func() {
			bodies[i] = ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("idem3", "ringing"), IdempotencyKeyHeader, "k3").Body
		})
	}
	wg.Wait()
	for _, b := range bodies {
		assert.Equal(t, bodies[0], b)
	}
}

func TestIdempotencyKeyNotSpentOnHeaderErrors(t *testing.T) {
	// Goal: the key's fingerprint covers the method, path and body, not
	// the headers, so an error about a header (a stale If-Match, a
	// Content-Type refused) is not recorded under the key: a retry that
	// corrects the header runs, appends, and is the answer later retries
	// replay, rather than a replay of an error the retry does not have.
	ts := newTestServer(t)
	body := moonbaseBody("idem-header", "in-progress")
	created := ts.do(t, "POST", "/calls/upsert", tokenA, body)
	require.Equal(t, http.StatusOK, created.Status, string(created.Body))
	etag := created.Header.Get("ETag")
	n := len(ts.events(t))

	update := moonbaseBody("idem-header", "completed")
	stale := ts.do(t, "POST", "/calls/upsert", tokenA, update, IdempotencyKeyHeader, "k-if-match", "If-Match", `"99"`)
	require.Equal(t, http.StatusPreconditionFailed, stale.Status, string(stale.Body))
	assert.Len(t, ts.events(t), n)
	fresh := ts.do(t, "POST", "/calls/upsert", tokenA, update, IdempotencyKeyHeader, "k-if-match", "If-Match", etag)
	require.Equal(t, http.StatusOK, fresh.Status, string(fresh.Body))
	assert.Empty(t, fresh.Header.Get("Idempotent-Replayed"), "the retry ran")
	assert.Equal(t, "completed", fresh.JSON(t)["provider_status"])
	assert.Greater(t, len(ts.events(t)), n, "and appended")
	n = len(ts.events(t))
	again := ts.do(t, "POST", "/calls/upsert", tokenA, update, IdempotencyKeyHeader, "k-if-match", "If-Match", etag)
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), "the run is recorded")
	assert.Equal(t, fresh.Body, again.Body)
	assert.Len(t, ts.events(t), n)

	form := formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/twiml")
	path := lamlCallsPath(lamlPrefix, acctA) + ".json"
	refused := ts.lamlDo(t, "POST", path, acctA, tokenA, form, "Content-Type", "text/plain", IdempotencyKeyHeader, "k-content-type")
	require.Equal(t, http.StatusUnsupportedMediaType, refused.Status, string(refused.Body))
	made := ts.lamlDo(t, "POST", path, acctA, tokenA, form, IdempotencyKeyHeader, "k-content-type")
	require.Equal(t, http.StatusCreated, made.Status, string(made.Body))
	assert.Empty(t, made.Header.Get("Idempotent-Replayed"), "the retry ran")
	assert.Greater(t, len(ts.events(t)), n, "and appended")
}

func TestIdempotencyKeySentTwice(t *testing.T) {
	// Goal: an Idempotency-Key header sent twice with different values is
	// a 400 naming the header that appends nothing (which key the client
	// retries under cannot be told); the same value twice is that key.
	ts := newTestServer(t)
	post := func(t *testing.T, pid string, keys ...string) response {
		req, err := http.NewRequest("POST", ts.URL+"/calls", strings.NewReader(moonbaseBody(pid, "ringing")))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tokenA)
		req.Header.Set("Content-Type", "application/json")
		for _, k := range keys {
			req.Header.Add(IdempotencyKeyHeader, k)
		}
		return ts.send(t, req)
	}
	n := len(ts.events(t))
	res := post(t, "twice-differ", "dk-1", "dk-2")
	require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `Idempotency-Key: sent 2 times with different values (\"dk-1\", \"dk-2\"): send one`)
	assert.Equal(t, IdempotencyKeyHeader, res.JSON(t)["errors"].([]any)[0].(map[string]any)["source"].(map[string]any)["header"])
	assert.Len(t, ts.events(t), n, "nothing appended")

	first := post(t, "twice-same", "dk-3", "dk-3")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	n = len(ts.events(t))
	retry := post(t, "twice-same", "dk-3")
	require.Equal(t, http.StatusCreated, retry.Status, "%s", retry.Body)
	assert.Equal(t, string(first.Body), string(retry.Body), "a retry under the one key replays the first answer")
	assert.Len(t, ts.events(t), n)
}

func TestIdempotencyKeyMustBePrintableASCII(t *testing.T) {
	// Goal: an Idempotency-Key with a byte that is not printable ASCII is a
	// 400 naming the header, in each surface's error style, and appends
	// nothing: stored in JSON metadata, "zz\xe9", "zz\xe8" and "zz\uFFFD"
	// would all read back as one key. Keys of printable ASCII, spaces and
	// punctuation included, still work.
	ts := newTestServer(t)
	surfaces := []struct {
		name string
		send func(t *testing.T, pid, key string) response
		// field returns where the error body names the field at fault.
		field func(t *testing.T, res response) string
	}{
		{"Moonbase", func(t *testing.T, pid, key string) response {
			return ts.do(t, "POST", "/calls", tokenA, moonbaseBody(pid, "ringing"), IdempotencyKeyHeader, key)
		}, func(t *testing.T, res response) string {
			errs := res.JSON(t)["errors"].([]any)
			require.Len(t, errs, 1)
			source, _ := errs[0].(map[string]any)["source"].(map[string]any)
			return fmt.Sprint(source["header"])
		}},
		{"VoiceCall", func(t *testing.T, pid, key string) response {
			return ts.do(t, "POST", "/v1/voice-calls", tokenA, voiceCallBody(t, pid, nil), IdempotencyKeyHeader, key)
		}, func(t *testing.T, res response) string {
			return fmt.Sprint(res.JSON(t)["field"])
		}},
		{"LaML", func(t *testing.T, pid, key string) response {
			return ts.lamlDo(t, "POST", lamlCallsPath("", acctA)+".json", acctA, tokenA,
				formBody("From", "+14155550100", "To", "+14155550101", "Url", "https://example.com/"+pid), IdempotencyKeyHeader, key)
		}, func(t *testing.T, res response) string {
			body := assertLAMLError(t, res, http.StatusBadRequest, 20001)
			msg := body["message"].(string)
			field, _, _ := strings.Cut(msg, ":")
			return field
		}},
	}
	for _, sf := range surfaces {
		for _, tc := range []struct {
			name, key string
		}{
			{"Latin1", "zz\xe9"},
			{"OtherLatin1", "zz\xe8"},
			{"ReplacementCharacter", "zz\uFFFD"},
			{"ValidUTF8", "café-1"},
			{"Tab", "a\tb"},
		} {
			t.Run(sf.name+"/"+tc.name, func(t *testing.T) {
				n := len(ts.events(t))
				res := sf.send(t, "bad-key-"+sf.name+tc.name, tc.key)
				require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
				assert.Equal(t, IdempotencyKeyHeader, sf.field(t, res), string(res.Body))
				assert.Contains(t, string(res.Body), "printable ASCII")
				assert.Len(t, ts.events(t), n)
			})
		}
		t.Run(sf.name+"/PrintableASCII", func(t *testing.T) {
			// Keys are per account, whatever the surface: one each.
			key := "retry 2 of order-42 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ " + sf.name
			first := sf.send(t, "good-key-"+sf.name, key)
			require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
			n := len(ts.events(t))
			retry := sf.send(t, "good-key-"+sf.name, key)
			assert.Equal(t, first.Body, retry.Body)
			assert.Len(t, ts.events(t), n)
			last := ts.events(t)[n-1]
			md, err := domain.UnmarshalMetadata(last.Metadata)
			require.NoError(t, err)
			assert.Equal(t, key, md.IdempotencyKey, "the key is stored as sent")
		})
	}
}

func TestConcurrentUpsertsLoseNothing(t *testing.T) {
	// Goal: concurrent updates of one call are serialised by the expected
	// revision and retried: every recording sent is on the call.
	ts := newTestServer(t)
	require.Equal(t, http.StatusOK, ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("conc", "in-progress")).Status)
	const writers = 12
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			body := strings.Replace(moonbaseBody("conc", "in-progress"), `"start_at"`,
				fmt.Sprintf(`"recordings":[{"content_type":"audio/mpeg","provider_id":"R%d","url":"https://example.com/%d.mp3"}],"start_at"`, i, i), 1)
			res := ts.do(t, "POST", "/calls/upsert", tokenA, body)
			assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
	}
	wg.Wait()
	res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("conc", "in-progress")).JSON(t)
	assert.Len(t, res["recordings"], writers)
	got := ts.do(t, "GET", "/calls/"+res["id"].(string), tokenA, "").JSON(t)
	assert.Len(t, got["recordings"], writers)
}

func TestConcurrentPatchesQueue(t *testing.T) {
	// Goal: concurrent writes to one call through one server queue rather
	// than race: with a single attempt each (no retry to hide a race),
	// every one of 32 concurrent PATCHes succeeds and appends its change.
	ts := newTestServer(t)
	ts.api.attemptsMax = 1
	id := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	before := len(ts.eventTypes(t, id))
	const writers = 32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, fmt.Sprintf(`{"notes":"note %d"}`, i))
			assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
	}
	wg.Wait()
	assert.Len(t, ts.eventTypes(t, id), before+writers, "one event a PATCH")
}

func TestMoonbaseBadInputs(t *testing.T) {
	// Goal: every malformed or invalid request is a 4xx naming the field,
	// in Moonbase's shape, and appends nothing.
	ts := newTestServer(t)
	valid := moonbaseBody("bad", "completed")
	repl := func(old, new string) string { return strings.Replace(valid, old, new, 1) }
	cases := []struct {
		name   string
		path   string
		body   string
		status int
		field  string
	}{
		{"Empty", "/calls/upsert", "", 400, ""},
		{"NotJSON", "/calls/upsert", "{nope", 400, ""},
		{"Array", "/calls/upsert", "[]", 400, ""},
		{"Trailing", "/calls/upsert", valid + "{}", 400, ""},
		{"Truncated", "/calls/upsert", valid[:len(valid)/2], 400, ""},
		{"MissingDirection", "/calls/upsert", repl(`"direction":"outgoing",`, ""), 400, "direction"},
		{"MissingParticipants", "/calls", repl(`"participants"`, `"x"`), 400, "participants"},
		{"NoParticipants", "/calls/upsert", repl(`"participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}]`, `"participants":[]`), 422, "participants: must list at least one participant, not none"},
		{"DirectionType", "/calls/upsert", repl(`"outgoing"`, `7`), 400, "direction"},
		{"DirectionEnum", "/calls/upsert", repl(`"outgoing"`, `"sideways"`), 422, "direction"},
		{"RoleEnum", "/calls/upsert", repl(`"caller"`, `"boss"`), 422, "participants[0].role"},
		{"BadPhone", "/calls/upsert", repl(`+14155550002`, `555-1234`), 422, "participants[1].phone"},
		{"PhoneType", "/calls", repl(`"+14155550002"`, `14155550002`), 400, "participants[1].phone:"},
		{"RoleType", "/calls/upsert", repl(`"callee"`, `7`), 400, "participants[1].role:"},
		{"ParticipantNotObject", "/calls/upsert", repl(`{"phone":"+14155550002","role":"callee"}`, `"x"`), 400, "participants[1]:"},
		{"RecordingURLType", "/calls/upsert", repl(`"start_at"`, `"recordings":[{"content_type":"audio/mpeg","provider_id":"a","url":"https://example.com/a.mp3"},{"content_type":"audio/mpeg","provider_id":"b","url":5}],"start_at"`), 400, "recordings[1].url:"},
		{"CueSpeakerType", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":0,"to":1,"speaker":"a","text":"b"},{"from":1,"to":2,"speaker":5,"text":"c"}]},"start_at"`), 400, "transcript.cues[1].speaker:"},
		{"BadTime", "/calls/upsert", repl(`2025-03-01T10:00:00Z`, `yesterday`), 422, "start_at"},
		{"BadTimeLowercaseNoOffset", "/calls/upsert", repl(`2025-03-01T10:00:00Z`, `2025-03-01t10:00:00`), 422, "start_at"},
		{"BadTimeLowercaseSeparator", "/calls/upsert", repl(`2025-03-01T10:00:00Z`, `2025-03-01x10:00:00z`), 422, "start_at"},
		{"TimeBeforeYearZeroInUTC", "/calls/upsert", repl(`2025-03-01T10:00:00Z`, `0000-01-01T00:00:00+06:00`), 422, "start_at"},
		{"TimeAfterYear9999InUTC", "/calls", repl(`"start_at":"2025-03-01T10:00:00Z"`, `"start_at":"2025-03-01T10:00:00Z","end_at":"9999-12-31T23:00:00-05:00"`), 422, "end_at"},
		{"BadTimeLowercaseZAfterOffset", "/calls", repl(`"start_at":"2025-03-01T10:00:00Z"`, `"start_at":"2025-03-01T10:00:00Z","end_at":"2025-03-01t10:05:00+01:00z"`), 422, "end_at"},
		{"EndBeforeStart", "/calls/upsert", repl(`"start_at"`, `"end_at":"2025-03-01T09:00:00Z","start_at"`), 422, ""},
		// A live status the ledger knows with an end: which is true is the
		// provider's to say (an API client probe's upsert made a call in
		// progress with an end time).
		{"InProgressWithEnd", "/calls/upsert", strings.Replace(moonbaseBody("bad", "in-progress"), `"start_at"`, `"end_at":"2025-03-01T10:05:00Z","start_at"`, 1), 422, "end_at"},
		{"RingingWithEnd", "/calls", strings.Replace(moonbaseBody("bad", "ringing"), `"start_at"`, `"end_at":"2025-03-01T10:05:00Z","start_at"`, 1), 422, "send the status it ended with"},
		{"MetadataNotObject", "/calls/upsert", repl(`"start_at"`, `"provider_metadata":[1],"start_at"`), 400, "provider_metadata"},
		{"MetadataNumberBeyondFloat64", "/calls/upsert", repl(`"start_at"`, `"provider_metadata":{"f":1.0e400},"start_at"`), 422, "provider_metadata"},
		// One level past metadataDepthMax (the object itself is the first).
		{"MetadataTooDeep", "/calls/upsert", repl(`"start_at"`, `"provider_metadata":{"a":`+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)+`},"start_at"`), 422, "provider_metadata"},
		{"MetadataTooDeepLogged", "/calls", repl(`"start_at"`, `"provider_metadata":{"a":`+strings.Repeat(`{"b":`, 1000)+"1"+strings.Repeat("}", 1000)+`},"start_at"`), 422, "provider_metadata"},
		{"EmptyProvider", "/calls", repl(`"openphone"`, `" "`), 422, "provider"},
		{"ProviderWithLineBreak", "/calls", repl(`"openphone"`, `"open\nphone"`), 422, "provider"},
		{"ProviderWithEscape", "/calls/upsert", repl(`"openphone"`, `"\u001b[31mopenphone"`), 422, "provider"},
		{"ProviderTooLong", "/calls", repl(`"openphone"`, `"`+strings.Repeat("p", domain.ProviderBytesMax+1)+`"`), 422, "provider"},
		{"ProviderIDTooLong", "/calls/upsert", repl(`"provider_id":"bad"`, `"provider_id":"`+strings.Repeat("b", domain.ProviderIDBytesMax+1)+`"`), 422, "provider_id"},
		{"RecordingProviderIDTooLong", "/calls/upsert", repl(`"start_at"`, `"recordings":[{"content_type":"audio/mpeg","provider_id":"`+strings.Repeat("r", domain.ProviderIDBytesMax+1)+`","url":"https://e.example.com/a.mp3"}],"start_at"`), 422, "recordings[0].provider_id"},
		{"RecordingURLWithQuote", "/calls/upsert", repl(`"start_at"`, `"recordings":[{"content_type":"audio/mpeg","provider_id":"q","url":"https://e.example.com/a\"<b>.mp3"}],"start_at"`), 422, "recordings[0].url"},
		{"RecordingMissingURL", "/calls/upsert", repl(`"start_at"`, `"recordings":[{"content_type":"audio/mpeg","provider_id":"x"}],"start_at"`), 400, "recordings[0].url"},
		{"CueNotNumber", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":"x","to":1,"speaker":"a","text":"b"}]},"start_at"`), 422, "transcript.cues[0].from"},
		// Text that is no text is named by its field, and where in the
		// body (a bad-input probe found the field left unnamed).
		{"LoneSurrogate", "/calls/upsert", repl(`"provider_id":"bad"`, `"provider_id":"bad\udc00"`), 400, "provider_id: the request body escapes half of a UTF-16 surrogate pair"},
		{"LoneSurrogateNested", "/calls", repl(`"role":"callee"`, `"role":"\ud800callee"`), 400, "participants[1].role: the request body escapes half"},
		{"LoneSurrogateInAKey", "/calls/upsert", repl(`"start_at"`, `"provider_metadata":{"ok":{"x\udfff":1}},"start_at"`), 400, "provider_metadata.ok: the request body escapes half"},
		{"NotUTF8", "/calls/upsert", repl(`"provider_id":"bad"`, "\"provider_id\":\"bad\xff\xfe\""), 400, "provider_id: the request body is not valid UTF-8"},
		{"NotUTF8InMetadata", "/calls/upsert", repl(`"start_at"`, "\"provider_metadata\":{\"a\":[\"ok\",\"\xff\"]},\"start_at\""), 400, "provider_metadata.a[1]: the request body is not valid UTF-8"},
		{"CueBool", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":true,"to":1,"speaker":"a","text":"b"}]},"start_at"`), 400, "transcript.cues[0].from"},
		{"CueHuge", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":1e400,"to":1e400,"speaker":"a","text":"b"}]},"start_at"`), 422, "at most 15 digits before the point"},
		{"CueHugeExponent", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":0,"to":1e999999999,"speaker":"a","text":"b"}]},"start_at"`), 422, "transcript.cues[0].to"},
		{"CueTinyExponent", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":1e-999999999,"to":1,"speaker":"a","text":"b"}]},"start_at"`), 422, "30 after it"},
		{"CueNaN", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":"NaN","to":1,"speaker":"a","text":"b"}]},"start_at"`), 422, "finite"},
		{"CueInfinity", "/calls/upsert", repl(`"start_at"`, `"transcript":{"cues":[{"from":0,"to":"Infinity","speaker":"a","text":"b"}]},"start_at"`), 422, "transcript.cues[0].to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "POST", tc.path, tokenA, tc.body)
			assert.Equal(t, tc.status, res.Status, string(res.Body))
			errs, ok := res.JSON(t)["errors"].([]any)
			require.True(t, ok, string(res.Body))
			if tc.field != "" {
				assert.Contains(t, errs[0].(map[string]any)["detail"], tc.field)
			}
		})
	}
	assert.Empty(t, ts.events(t), "no bad request appends anything")
	for _, id := range []string{"nope", "00000000-0000-0000-0000-000000000000", "7f1d3c47-6b3b-4e8e-9b7e-6a1c2f8e9d10"} {
		assert.Equal(t, http.StatusNotFound, ts.do(t, "GET", "/calls/"+id, tokenA, "").Status)
	}
}

// TestMoonbaseErrorSource checks where a Moonbase error says the value at
// fault is, as JSON:API's error source does: a pointer into the body for a
// body field, parameter for a query parameter, header for a header.
func TestMoonbaseErrorSource(t *testing.T) {
	ts := newTestServer(t)
	valid := moonbaseBody("src", "completed")
	created := ts.do(t, "POST", "/calls/upsert", tokenA, valid)
	require.Equal(t, http.StatusOK, created.Status, string(created.Body))
	id := created.JSON(t)["id"].(string)
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		want                     map[string]any
	}{
		{"body field", "POST", "/calls/upsert", strings.Replace(valid, `"caller"`, `"boss"`, 1), nil,
			map[string]any{"pointer": "/participants/0/role"}},
		{"body field of the wrong type", "POST", "/calls/upsert", strings.Replace(valid, `"callee"`, `7`, 1), nil,
			map[string]any{"pointer": "/participants/1/role"}},
		{"query parameter", "GET", "/calls?limit=0", "", nil, map[string]any{"parameter": "limit"}},
		{"time-travel parameter", "GET", "/calls/" + id + "?revision=x", "", nil, map[string]any{"parameter": "revision"}},
		{"header", "POST", "/calls/upsert", valid, []string{"If-Match", "nope"}, map[string]any{"header": "If-Match"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, tc.method, tc.path, tokenA, tc.body, tc.headers...)
			require.GreaterOrEqual(t, res.Status, 400, string(res.Body))
			errs, ok := res.JSON(t)["errors"].([]any)
			require.True(t, ok, string(res.Body))
			assert.Equal(t, tc.want, errs[0].(map[string]any)["source"], string(res.Body))
		})
	}
}

// FuzzMoonbaseUpsert sends arbitrary bodies to POST /calls/upsert through
// the whole handler: never a panic, never a 5xx.
func FuzzMoonbaseUpsert(f *testing.F) {
	f.Add([]byte(seedUpsert))
	f.Add([]byte(moonbaseBody("f", "ringing")))
	f.Add([]byte(`{"transcript":{"cues":[{"from":1e400}]}}`))
	f.Add([]byte(`{"direction":"incoming","participants":[null],"provider":"x","provider_id":"y","provider_status":"z","start_at":"2025-01-01T00:00:00Z"}`))
	ts := newTestServer(f)
	h := ts.api.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/calls/upsert", "/calls"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(string(body)))
			req.Header.Set("Authorization", "Bearer "+tokenA)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: status %d for %q: %s", path, rec.Code, body, rec.Body)
			}
		}
	})
}

func TestShouldRetryOnlyLostRaces(t *testing.T) {
	// Goal: a 409 tells these SDKs (which retry 409s) to retry only when
	// the write lost every race with other servers' writers, which a retry
	// can win; a conflict in the request itself is final.
	ts := newTestServer(t)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"lost the races", fmt.Errorf("append: gave up: %w", eventstore.ErrVersionConflict), "true"},
		{"the request conflicts", domain.Errorf(domain.ErrConflict, "status", "the call is over"), "false"},
		{"stale If-Match", ErrPreconditionFailed, "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r, sc := withScope(httptest.NewRequest("POST", "/calls/upsert", nil), "")
			ts.api.writeError(w, r, ts.api.moonbaseError, tc.err)
			assert.Equal(t, tc.want, w.Header().Get("x-should-retry"))
			// An answer that says retry is not recorded under a key: it
			// would answer every retry with itself.
			assert.Equal(t, tc.want == "true", sc.unrecorded, "unrecorded")
		})
	}
}

func TestMoonbaseCueTimesWithExponent(t *testing.T) {
	// Goal: transcript cue times are JSON numbers, and JSON (and JavaScript,
	// below 1e-6 and from 1e21) may write them with an exponent: they are
	// taken exactly, as decimals, and written back by the answer and the
	// call view in plain notation with the places their digits give (1e2
	// is 100, 1.50e1 is 15.0, 1e-7 is 0.0000001). Sent again in either
	// form, they are the same cue times and append nothing.
	ts := newTestServer(t)
	withCues := func(cues string) string {
		return strings.Replace(moonbaseBody("cues-exp", "completed"), `"start_at"`, `"transcript":{"cues":`+cues+`},"start_at"`, 1)
	}
	const sent = `[{"from":1e2,"to":2E+2,"speaker":"a","text":"t"},{"from":1.50e1,"to":1.2345678901234567e-7,"speaker":"b","text":"u"},{"from":"1e-7","to":"3e0","speaker":"c","text":"v"}]`
	const plain = `[{"from":100,"to":200,"speaker":"a","text":"t"},{"from":15.0,"to":0.00000012345678901234567,"speaker":"b","text":"u"},{"from":0.0000001,"to":3,"speaker":"c","text":"v"}]`
	transcript := func(body []byte) string {
		t.Helper()
		var call struct {
			Transcript struct {
				Cues json.RawMessage `json:"cues"`
			} `json:"transcript"`
		}
		require.NoError(t, json.Unmarshal(body, &call), "%s", body)
		return string(call.Transcript.Cues)
	}

	// The second cue ends before it starts: refused, naming it, as for
	// plain numbers (the domain compares the exact decimals).
	res := ts.do(t, "POST", "/calls/upsert", tokenA, withCues(sent))
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), "transcript/cues/1/to")

	fixed := strings.Replace(sent, `1.2345678901234567e-7`, `1.6e1`, 1)
	fixedPlain := strings.Replace(plain, `0.00000012345678901234567`, `16`, 1)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, withCues(fixed))
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, fixedPlain, transcript(res.Body), "the answer writes plain decimals")
	id := res.JSON(t)["id"].(string)
	got := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, got.Status, "%s", got.Body)
	assert.Equal(t, fixedPlain, transcript(got.Body), "the call view writes them alike")

	n := len(ts.events(t))
	for _, again := range []string{fixed, fixedPlain} {
		res = ts.do(t, "POST", "/calls/upsert", tokenA, withCues(again))
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		assert.Equal(t, fixedPlain, transcript(res.Body))
	}
	assert.Len(t, ts.events(t), n, "the same cue times in either notation are no change")

	// A tiny cue time, as JavaScript writes it, keeps every digit.
	tiny := `[{"from":1.2345678901234567e-7,"to":1,"speaker":"a","text":"t"}]`
	res = ts.do(t, "POST", "/calls/upsert", tokenA, withCues(tiny))
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, `[{"from":0.00000012345678901234567,"to":1,"speaker":"a","text":"t"}]`, transcript(res.Body))
}
