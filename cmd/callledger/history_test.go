package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// historyEventsPage is the part of GET /v1/calls/{id}/events that history
// must agree with.
type historyEventsPage struct {
	Events []struct {
		Revision uint64                    `json:"revision"`
		Position eventstore.ExportPosition `json:"position"`
		ID       uuid.UUID                 `json:"id"`
		Type     string                    `json:"type"`
		Metadata domain.Metadata           `json:"metadata"`
		Hash     string                    `json:"hash"`
	} `json:"events"`
}

func TestHistoryShowsWhereEachEventIs(t *testing.T) {
	// Goal: under each event, history prints its global position, its
	// event id, the idempotency key of the write when it had one (quoted)
	// and its stream-chain hash: the values GET /v1/calls/{id}/events
	// gives for the same event, so that an auditor can tie each line of the
	// timeline to the log and to an export.
	ctx := context.Background()
	dir := t.TempDir()
	const token = "token-a-0123456789abcdef"
	m, _ := startMain(t, dir, map[string]string{"CALLLEDGER_API_KEYS": "acct-a:" + token})

	send := func(method, path, key, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		code, b, _ := roundTrip(t, req)
		require.Less(t, code, 300, "%s %s: %s", method, path, b)
		return b
	}
	var callID string
	events := func() historyEventsPage {
		t.Helper()
		var page historyEventsPage
		require.NoError(t, json.Unmarshal(send("GET", "/v1/calls/"+callID+"/events", "", ""), &page))
		return page
	}

	writes := []struct {
		name, method, path, key, body string
	}{
		{"KeyedCreate", "POST", "/calls/upsert", "order-42", seedUpsert},
		{"UnkeyedPatch", "PATCH", "/v1/calls/{id}", "", `{"notes": "called back"}`},
		{"KeyWithSpaces", "POST", "/calls/upsert", "retry 2 of order-42", strings.Replace(seedUpsert, `"completed"`, `"voicemail"`, 1)},
	}
	firstRevision := make([]int, len(writes)+1) // the revisions each write appended: [first[i], first[i+1])
	for i, w := range writes {
		b := send(w.method, strings.ReplaceAll(w.path, "{id}", callID), w.key, w.body)
		if callID == "" {
			var call struct {
				ID string `json:"id"`
			}
			require.NoError(t, json.Unmarshal(b, &call))
			callID = call.ID
		}
		firstRevision[i+1] = len(events().Events)
		require.Greater(t, firstRevision[i+1], firstRevision[i], "%s appended an event", w.name)
	}
	page := events()
	require.NoError(t, m.Close()) // history opens the store itself
	require.NoError(t, m.Close(), "a second Close returns the first's result")

	res := runTool(ctx, t, dir, "", "history", callID)
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stdout, "!", "an intact log: every hash recomputes")
	for i, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			for _, e := range page.Events[firstRevision[i]:firstRevision[i+1]] {
				assert.Equal(t, w.key, e.Metadata.IdempotencyKey, "the API's metadata carries the key")
				key := ""
				if w.key != "" {
					key = "  idempotency_key " + strconv.Quote(w.key)
				}
				want := fmt.Sprintf("  #%d  %s  (by %s, via %s, request %s)\n    position %d  id %s%s\n    hash %s\n",
					e.Revision, e.Type, e.Metadata.Actor, e.Metadata.Surface, e.Metadata.RequestID, e.Position.Commit, e.ID, key, e.Hash)
				assert.Contains(t, res.stdout, want)
			}
		})
	}
}

func TestHistoryFlagsAlteredEvents(t *testing.T) {
	// Goal: history recomputes each event's stream-chain hash from the
	// event as stored and the hash before it, as verify does, and flags
	// the events whose stored hash does not recompute: an event whose
	// metadata was altered (and the record checksum recomputed, as a
	// tamperer would), or whose stored hash was; the one after an altered
	// hash no longer chains to it and is flagged too. Intact events are not.
	ctx := context.Background()
	c := &genCall{id: uuid.New(), account: "acme", provider: "twilio", start: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC),
		prices:   []domain.Price{{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal("0.0135"), Currency: "USD"}},
		duration: 61}
	const altered = 2 // the position of revision 1: one writer appends one call at positions 1..N
	for _, tc := range []struct {
		name    string
		offset  int // of the stored byte flipped (see flipStoredByte); 0: none
		flagged []uint64
	}{
		{"Intact", 0, nil},
		{"TamperedMetadata", -8, []uint64{1}}, // the seconds of the metadata time: still decodes
		{"TamperedStreamHash", 40, []uint64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			seedLedgerWith(t, dir, []*genCall{c}, 1)
			if tc.offset != 0 {
				flipStoredByte(t, dir, altered, tc.offset, true)
			}
			res := runTool(ctx, t, dir, "", "history", c.id.String())
			require.Equal(t, 0, res.code, res.stderr)
			blocks := historyBlocks(res.stdout)
			require.Len(t, blocks, 3)
			for rev, block := range blocks {
				flagged := strings.Contains(block, "    ! the stored hash does not recompute")
				assert.Equal(t, slices.Contains(tc.flagged, uint64(rev)), flagged, "revision %d:\n%s", rev, block)
				assert.Regexp(t, `\n    hash [0-9a-f]{64}\n`, block)
			}
		})
	}
}

// historyBlocks splits history's output into its events' blocks, by
// revision: each from its "<time>  #<revision>" line to the next.
func historyBlocks(out string) []string {
	starts := regexp.MustCompile(`(?m)^\S+  #\d+  `).FindAllStringIndex(out, -1)
	blocks := make([]string, len(starts))
	for i, s := range starts {
		end := len(out)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		blocks[i] = out[s[0]:end]
	}
	return blocks
}
