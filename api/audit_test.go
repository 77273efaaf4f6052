package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// knownCall is a call history written straight to the store with chosen
// metadata times, so time travel can be checked against exact instants.
type knownCall struct {
	id    uuid.UUID
	times []time.Time // metadata Time of each event, by revision
	last  eventstore.Position
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// appendKnownCall writes: 0 created (t0), 1 priced 0.0100 USD (t0+1m),
// 2 re-priced 0.0135 USD (t0+2m), 3 deleted (t0+3m).
func appendKnownCall(t *testing.T, ts *testServer, account string) knownCall {
	t.Helper()
	c := knownCall{id: uuid.New()}
	start := t0
	dir := domain.DirectionInbound
	usd := func(s string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(s), Currency: "USD"}
	}
	p1 := usd("0.0100")
	history := []domain.Event{
		domain.CallUpserted{Created: true, CallID: c.id, AccountID: account, Provider: "twilio", ProviderID: "CA" + c.id.String()[:8], Direction: &dir, StartedAt: &start},
		domain.CallPriced{Price: p1},
		domain.CallPriced{Price: usd("0.0135"), PreviousPrice: &p1},
		domain.CallDeleted{DeletedAt: t0.Add(3 * time.Minute)},
	}
	var events []eventstore.EventData
	for i, e := range history {
		at := t0.Add(time.Duration(i) * time.Minute)
		c.times = append(c.times, at)
		data, err := domain.MarshalEvent(e)
		require.NoError(t, err)
		md, err := domain.MarshalMetadata(domain.Metadata{SchemaVersion: 1, AccountID: account, Actor: "auditor-test",
			RequestID: fmt.Sprintf("req-%d", i), Surface: domain.SurfaceCLI, Time: at})
		require.NoError(t, err)
		events = append(events, eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: data, Metadata: md})
	}
	res, err := ts.store.Append(context.Background(), domain.StreamID(c.id), eventstore.NoStream(), events)
	require.NoError(t, err)
	c.last = res.Position
	require.NoError(t, ts.proj.WaitFor(context.Background(), res.Position))
	return c
}

// eventsPageSummary is what the paging checks read of a page of the events
// route: its cursor and each event's revision and hash.
type eventsPageSummary struct {
	NextCursor string `json:"next_cursor"`
	Events     []struct {
		Revision uint64 `json:"revision"`
		Hash     string `json:"hash"`
	} `json:"events"`
}

func TestCallEvents(t *testing.T) {
	// Goal: GET /v1/calls/{id}/events returns the full ordered history of a
	// call written through a surface, with type, schema version, data and
	// metadata as stored, revision, position and hashes equal to the
	// store's; pages with limit and cursor; other accounts see a 404.
	ts := newTestServer(t)
	pid := "audit-" + uuid.NewString()[:8]
	created := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(pid, "ringing"))
	require.Less(t, created.Status, 300, "%s", created.Body)
	id := created.JSON(t)["id"].(string)
	for _, status := range []string{"in-progress", "completed"} {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody(pid, status))
		require.Less(t, res.Status, 300, "%s", res.Body)
	}
	stored, err := ts.store.ReadStream(context.Background(), "call-"+id, 0, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(stored), 3)

	res := ts.do(t, "GET", "/v1/calls/"+id+"/events", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	var page struct {
		CallID     string `json:"call_id"`
		NextCursor string `json:"next_cursor"`
		Events     []struct {
			Stream        string                    `json:"stream"`
			Revision      uint64                    `json:"revision"`
			Position      eventstore.ExportPosition `json:"position"`
			ID            string                    `json:"id"`
			Type          string                    `json:"type"`
			SchemaVersion int                       `json:"schema_version"`
			Data          json.RawMessage           `json:"data"`
			Metadata      json.RawMessage           `json:"metadata"`
			Hash          string                    `json:"hash"`
			AllHash       string                    `json:"all_hash"`
		} `json:"events"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &page))
	assert.Equal(t, id, page.CallID)
	assert.Empty(t, page.NextCursor)
	require.Len(t, page.Events, len(stored))
	for i, e := range page.Events {
		s := stored[i]
		assert.Equal(t, uint64(i), e.Revision)
		assert.Equal(t, s.Position.Commit, e.Position.Commit)
		assert.Equal(t, s.Type, e.Type)
		assert.Equal(t, 2, e.SchemaVersion, "written by this build: a Moonbase call carries nothing of version 3 (domain.SchemaVersionOf)")
		assert.Equal(t, string(s.Data), string(e.Data), "data byte for byte")
		assert.Equal(t, string(s.Metadata), string(e.Metadata), "metadata byte for byte")
		assert.Equal(t, s.Hash.String(), e.Hash)
		assert.Equal(t, s.AllHash.String(), e.AllHash)
		var md domain.Metadata
		require.NoError(t, json.Unmarshal(e.Metadata, &md))
		assert.Equal(t, domain.SurfaceMoonbase, md.Surface)
		assert.Equal(t, acctA, md.AccountID)
		assert.NotEmpty(t, md.RequestID)
	}
	assert.Equal(t, domain.TypeCallUpserted, page.Events[0].Type)

	// Paging: two at a time, following next_cursor, gives the same events,
	// whether the cursor is sent as cursor, as after (Moonbase's name for
	// it), or as both.
	for _, param := range []string{"cursor=%s", "after=%s", "cursor=%[1]s&after=%[1]s"} {
		var paged []string
		cursor := ""
		for range len(stored) + 1 {
			res := ts.do(t, "GET", "/v1/calls/"+id+"/events?limit=2&"+fmt.Sprintf(param, cursor), tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
			var p eventsPageSummary
			require.NoError(t, json.Unmarshal(res.Body, &p))
			assert.LessOrEqual(t, len(p.Events), 2)
			for _, e := range p.Events {
				paged = append(paged, e.Hash)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		require.Len(t, paged, len(stored), param)
		for i := range stored {
			assert.Equal(t, stored[i].Hash.String(), paged[i], param)
		}
	}

	for _, tc := range []struct {
		name, path, token string
		status            int
		field             string
	}{
		{"OtherAccount", "/v1/calls/" + id + "/events", tokenB, http.StatusNotFound, ""},
		{"NoToken", "/v1/calls/" + id + "/events", "", http.StatusUnauthorized, ""},
		{"UnknownCall", "/v1/calls/" + uuid.NewString() + "/events", tokenA, http.StatusNotFound, ""},
		{"BadID", "/v1/calls/nope/events", tokenA, http.StatusNotFound, ""},
		{"LimitZero", "/v1/calls/" + id + "/events?limit=0", tokenA, http.StatusBadRequest, "limit"},
		{"LimitHuge", "/v1/calls/" + id + "/events?limit=100000", tokenA, http.StatusBadRequest, "limit"},
		{"BadCursor", "/v1/calls/" + id + "/events?cursor=x", tokenA, http.StatusBadRequest, "cursor"},
		{"BadAfter", "/v1/calls/" + id + "/events?after=-1", tokenA, http.StatusBadRequest, "after"},
		{"CursorAndAfterDiffer", "/v1/calls/" + id + "/events?cursor=0&after=2", tokenA, http.StatusBadRequest, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(t, "GET", tc.path, tc.token, "")
			assert.Equal(t, tc.status, res.Status, "%s", res.Body)
			assert.NotContains(t, string(res.Body), "CallUpserted")
			if tc.field != "" {
				assert.Equal(t, tc.field, res.JSON(t)["error"].(map[string]any)["field"], "%s", res.Body)
			}
		})
	}
}

func TestCallEventsAtAPoint(t *testing.T) {
	// Goal: GET /v1/calls/{id}/events?revision=N or ?as_of=T lists the
	// events the call's GET with the same parameter folds (through revision
	// N; up to the first event recorded after T), paged as without it, the
	// last page ending at the point with no next_cursor; a time past the
	// last event lists them all, one before the first none; a revision the
	// call does not have yet is a 404, as the call's GET answers (it listed
	// them all), and a cursor past the last event a 400 (it was an empty
	// page: an auditor probe); a malformed point is a 400 naming its
	// parameter.
	ts := newTestServer(t)
	c := appendKnownCall(t, ts, acctA)
	path := "/v1/calls/" + c.id.String() + "/events"
	for _, tc := range []struct {
		name, query string
		revisions   []uint64
	}{
		{"Revision0", "revision=0", []uint64{0}},
		{"Revision2", "revision=2", []uint64{0, 1, 2}},
		{"AsOfBeforeCreation", "as_of=" + t0.Add(-time.Second).Format(time.RFC3339), nil},
		{"AsOfCreation", "as_of=" + t0.Format(time.RFC3339), []uint64{0}},
		{"AsOfBetween", "as_of=" + c.times[1].Add(30*time.Second).Format(time.RFC3339), []uint64{0, 1}},
		{"AsOfExactlyRepricing", "as_of=" + c.times[2].Format(time.RFC3339Nano), []uint64{0, 1, 2}},
		{"AsOfFuture", "as_of=2030-01-01T00:00:00Z", []uint64{0, 1, 2, 3}},
	} {
		for _, limit := range []int{1, 2, 100} {
			t.Run(fmt.Sprintf("%s/limit%d", tc.name, limit), func(t *testing.T) {
				var got []uint64
				cursor := ""
				for range 10 {
					res := ts.do(t, "GET", fmt.Sprintf("%s?%s&limit=%d&cursor=%s", path, tc.query, limit, cursor), tokenA, "")
					require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
					var p eventsPageSummary
					require.NoError(t, json.Unmarshal(res.Body, &p))
					require.LessOrEqual(t, len(p.Events), limit)
					for _, e := range p.Events {
						got = append(got, e.Revision)
					}
					if p.NextCursor == "" {
						break
					}
					require.NotEmpty(t, p.Events, "a page with a next_cursor holds events")
					cursor = p.NextCursor
				}
				assert.Equal(t, tc.revisions, got)
			})
		}
	}
	for _, p := range []string{path, "/v1/calls/" + c.id.String()} {
		res := ts.do(t, "GET", p+"?revision=99", tokenA, "")
		assert.Equal(t, http.StatusNotFound, res.Status, "%s: %s", p, res.Body)
		assert.Contains(t, string(res.Body), "has no revision 99", p)
	}
	for _, q := range []string{"cursor=4", "after=99", "cursor=99&revision=2", "cursor=3&revision=1"} {
		res := ts.do(t, "GET", path+"?"+q, tokenA, "")
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", q, res.Body)
		assert.Contains(t, string(res.Body), "is not a cursor this API gave out", q)
	}
	for _, tc := range []struct{ query, field string }{
		{"revision=-1", "revision"},
		{"as_of=yesterday", "as_of"},
		{"as_of=", "as_of"},
		{"revision=", "revision"},
		{"revision=1&as_of=2025-06-01T12:00:00Z", "as_of"},
		{"revision=1&revision=3", "revision"},
		{"as_of=2025-06-01T12:00:00Z&as_of=2025-07-01T12:00:00Z", "as_of"},
		{"limit=1&limit=5", "limit"},
		{"cursor=1&cursor=1", "cursor"},
	} {
		res := ts.do(t, "GET", path+"?"+tc.query, tokenA, "")
		assert.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", tc.query, res.Body)
		assert.Equal(t, tc.field, res.JSON(t)["error"].(map[string]any)["field"], "%s", res.Body)
	}
}

func TestCallEventsKeepsDeletedHistory(t *testing.T) {
	// Goal: a soft-deleted call's history stays readable, deletion included.
	ts := newTestServer(t)
	c := appendKnownCall(t, ts, acctA)
	res := ts.do(t, "GET", "/v1/calls/"+c.id.String()+"/events", tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Contains(t, string(res.Body), `"type":"CallDeleted"`)
	assert.Contains(t, string(res.Body), `"total":"0.0135"`)
}

// readAt calls ReadCallAt as a surface's GET would, for account, with query.
func readAt(ts *testServer, account string, id uuid.UUID, query string, includeDeleted bool) (CallView, error) {
	r := httptest.NewRequest("GET", "/v1/calls/"+id.String()+"?"+query, nil)
	r = r.WithContext(WithPrincipal(context.Background(), Principal{Account: account}))
	return ts.api.ReadCallAt(r, id, includeDeleted)
}

func TestTimeTravel(t *testing.T) {
	// Goal: ?revision=N and ?as_of=<RFC 3339> return the call exactly as it
	// was then, folded from its events; before creation or past the last
	// revision is a 404; another account's call is a 404 at any time.
	ts := newTestServer(t)
	c := appendKnownCall(t, ts, acctA)
	price := func(v CallView) string {
		if v.Call.Price == nil {
			return "none"
		}
		return v.Call.Price.Total.String()
	}
	cases := []struct {
		name           string
		query          string
		includeDeleted bool
		revision       uint64
		price          string
		deleted        bool
		code           string // a Problem code when an error is expected
	}{
		{name: "Revision0", query: "revision=0", revision: 0, price: "none"},
		{name: "Revision1", query: "revision=1", revision: 1, price: "0.0100"},
		{name: "Revision2", query: "revision=2", revision: 2, price: "0.0135"},
		{name: "Revision3DeletedHidden", query: "revision=3", code: "not_found"},
		{name: "Revision3DeletedShown", query: "revision=3", includeDeleted: true, revision: 3, price: "0.0135", deleted: true},
		{name: "RevisionPastEnd", query: "revision=4", includeDeleted: true, code: "not_found"},
		// Go's zero time is an instant before every call, not "now".
		{name: "AsOfZeroTime", query: "as_of=0001-01-01T00:00:00Z", includeDeleted: true, code: "not_found"},
		{name: "AsOfBeforeCreation", query: "as_of=" + t0.Add(-time.Second).Format(time.RFC3339), code: "not_found"},
		{name: "AsOfCreation", query: "as_of=" + t0.Format(time.RFC3339), revision: 0, price: "none"},
		{name: "AsOfExactlyFirstPricing", query: "as_of=" + c.times[1].Format(time.RFC3339), revision: 1, price: "0.0100"},
		{name: "AsOfBetween", query: "as_of=2025-06-01T14:01:30%2B02:00", revision: 1, price: "0.0100"},
		{name: "AsOfAfterRepricing", query: "as_of=" + c.times[2].Add(30*time.Second).Format(time.RFC3339Nano), revision: 2, price: "0.0135"},
		{name: "AsOfFuture", query: "as_of=2030-01-01T00:00:00Z", includeDeleted: true, revision: 3, price: "0.0135", deleted: true},
		{name: "Now", query: "", includeDeleted: true, revision: 3, price: "0.0135", deleted: true},
		{name: "Both", query: "revision=1&as_of=2025-06-01T12:00:00Z", code: "malformed"},
		{name: "BadRevision", query: "revision=-1", code: "malformed"},
		{name: "BadAsOf", query: "as_of=yesterday", code: "malformed"},
		// Given empty (a script's unset variable), not read as the present.
		{name: "EmptyAsOf", query: "as_of=", code: "malformed"},
		{name: "EmptyRevision", query: "revision=", code: "malformed"},
		{name: "AsOfLowercase", query: "as_of=2025-06-01t12:01:00z", revision: 1, price: "0.0100"},
		{name: "AsOfLowercaseOffset", query: "as_of=2025-06-01t14:02:30%2B02:00", revision: 2, price: "0.0135"},
		{name: "BadAsOfLowercaseNoOffset", query: "as_of=2025-06-01t12:01:00", code: "malformed"},
		{name: "BadAsOfLowercaseSeparator", query: "as_of=2025-06-01x12:01:00z", code: "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := readAt(ts, acctA, c.id, tc.query, tc.includeDeleted)
			if tc.code != "" {
				require.Error(t, err)
				p, ok := ProblemOf(err)
				require.True(t, ok, "%v", err)
				assert.Equal(t, tc.code, p.Code)
				if tc.code == "malformed" {
					assert.Contains(t, []string{"as_of", "revision"}, p.Field, "names the parameter")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.revision, v.Revision)
			assert.Equal(t, tc.price, price(v))
			assert.Equal(t, tc.deleted, v.Call.Deleted())
			assert.Equal(t, c.id, v.Call.ID)
		})
	}
	t.Run("OtherAccount", func(t *testing.T) {
		for _, q := range []string{"revision=1", "as_of=2030-01-01T00:00:00Z", ""} {
			_, err := readAt(ts, acctB, c.id, q, true)
			p, ok := ProblemOf(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "not_found", p.Code, q)
		}
	})
}
