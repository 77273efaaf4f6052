package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeRebuildsReadModelsWithoutRecordingIndex: Goal: read models that
// a build before the recording index wrote (format 1, no 'r' keys) are
// rebuilt when serve opens them, so that a recording they held is found by
// its sid alone (LaML GET .../Accounts/{AccountSid}/Recordings/{Sid}), as
// one recorded after the upgrade is.
func TestServeRebuildsReadModelsWithoutRecordingIndex(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := startMain(t, dir, nil)
	stored, err := os.ReadFile(filepath.Join(dir, generatedKeysFile))
	require.NoError(t, err)
	account, token, ok := strings.Cut(strings.TrimSpace(string(stored)), ":")
	require.True(t, ok)
	upsert := strings.Replace(seedUpsert, `"provider_metadata"`,
		`"recordings": [{"content_type": "audio/mpeg", "provider_id": "RE1", "url": "https://media.example.com/1.mp3"}], "provider_metadata"`, 1)
	code, body := do(t, "POST", m.URL()+"/calls/upsert", token, upsert)
	require.Equal(t, http.StatusOK, code, string(body))
	var call struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &call))
	laml := func(m *Main, path string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequest("GET", m.URL()+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth(account, token)
		code, body, _ := roundTrip(t, req)
		return code, body
	}
	code, body = laml(m, "/2010-04-01/Accounts/"+account+"/Calls/"+call.ID+"/Recordings.json")
	require.Equal(t, http.StatusOK, code, string(body))
	var list struct {
		Recordings []struct {
			URI string `json:"uri"`
		} `json:"recordings"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Recordings, 1)
	uri := list.Recordings[0].URI
	code, body = laml(m, uri)
	require.Equal(t, http.StatusOK, code, string(body))
	want := body
	require.NoError(t, m.Close())

	// What an earlier build left: its format stamp, and no recording index.
	db, err := pebble.Open(filepath.Join(dir, "readmodels"), &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("m/format"), []byte("callledger-projections/1"), pebble.Sync))
	require.NoError(t, db.DeleteRange([]byte("r"), []byte("s"), pebble.Sync))
	require.NoError(t, db.Close())

	m2, _, stderr := startMain(t, dir, nil)
	defer m2.Close()
	code, body = laml(m2, uri)
	require.Equal(t, http.StatusOK, code, string(body))
	assert.JSONEq(t, string(want), string(body))
	assert.Contains(t, stderr.String(), "the read models were written by an earlier build: rebuilding them")
}

// TestServeRebuildsReadModelsOfFormat2: Goal: read models of the builds
// before session 44 (format 2: list entries without the call's end and
// parent, recording index entries without times) are rebuilt when serve
// opens them, stamped format 3, which those builds refuse (they served
// every list as a 500 from entries they could not read), and written
// anew: every list entry holds the end, every recording entry its time.
func TestServeRebuildsReadModelsOfFormat2(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := startMain(t, dir, nil)
	stored, err := os.ReadFile(filepath.Join(dir, generatedKeysFile))
	require.NoError(t, err)
	_, token, ok := strings.Cut(strings.TrimSpace(string(stored)), ":")
	require.True(t, ok)
	upsert := strings.Replace(seedUpsert, `"provider_metadata"`,
		`"recordings": [{"content_type": "audio/mpeg", "provider_id": "RE1", "url": "https://media.example.com/1.mp3"}], "provider_metadata"`, 1)
	code, body := do(t, "POST", m.URL()+"/calls/upsert", token, upsert)
	require.Equal(t, http.StatusOK, code, string(body))
	// A read waits for the read models to hold the write (the answer did
	// not): only then do they have the entries to rewrite.
	code, body = do(t, "GET", m.URL()+"/calls/"+callID(t, string(body)), token, "")
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, m.Close())

	// What a build before session 44 left: its stamp, its layouts.
	rm := filepath.Join(dir, "readmodels")
	db, err := pebble.Open(rm, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("m/format"), []byte("callledger-projections/2"), pebble.Sync))
	for prefix, cut := range map[byte]func(v []byte) []byte{
		'l': listEntryInLayout1,
		'r': func(v []byte) []byte { return v[:16] },
	} {
		rewriteValues(t, db, prefix, cut)
	}
	require.NoError(t, db.Close())
	require.Equal(t, map[string]int{"format": 2, "l1": 1, "r16": 1}, readModelLayouts(t, rm))

	m2, _, stderr := startMain(t, dir, nil)
	require.NoError(t, m2.Close())
	assert.Contains(t, stderr.String(), "the read models were written by an earlier build: rebuilding them")
	assert.Equal(t, map[string]int{"format": 3, "l2": 1, "r28": 1}, readModelLayouts(t, rm))
}

// rewriteValues replaces every value of the keys beginning with prefix in
// db by cut of it.
func rewriteValues(t *testing.T, db *pebble.DB, prefix byte, cut func(v []byte) []byte) {
	t.Helper()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	require.NoError(t, err)
	for valid := it.First(); valid; valid = it.Next() {
		require.NoError(t, db.Set(bytes.Clone(it.Key()), cut(bytes.Clone(it.Value())), pebble.Sync))
	}
	require.NoError(t, it.Close())
}

// readModelLayouts describes the read models in dir, closed: their format
// stamp's number ("format"), their list entries by layout ("l1", "l2")
// and their recording index entries by length ("r16", "r28").
func readModelLayouts(t *testing.T, dir string) map[string]int {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	out := map[string]int{}
	v, closer, err := db.Get([]byte("m/format"))
	require.NoError(t, err)
	_, n, _ := strings.Cut(string(v), "/")
	out["format"], err = strconv.Atoi(n)
	require.NoError(t, err)
	closer.Close()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("l"), UpperBound: []byte("s")})
	require.NoError(t, err)
	for valid := it.First(); valid; valid = it.Next() {
		switch it.Key()[0] {
		case 'l':
			out[fmt.Sprintf("l%d", it.Value()[0])]++
		case 'r':
			out[fmt.Sprintf("r%d", len(it.Value()))]++
		}
	}
	require.NoError(t, it.Close())
	return out
}

// listEntryInLayout1 is a list entry of layout 2 as the builds before
// session 44 wrote it (layout 1: 0x01, deleted, then status, from and to,
// each a uvarint length and the bytes; no flags, end nor parent).
func listEntryInLayout1(v []byte) []byte {
	end := 2
	for range 3 {
		n, k := binary.Uvarint(v[end:])
		end += k + int(n)
	}
	return append([]byte{1}, v[1:end]...)
}
