package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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
	assert.Contains(t, stderr.String(), "without the recording index")
}
