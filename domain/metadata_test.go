package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// TestMarshalMetadataIsJSONMarshal checks that the hand-written metadata
// encoder writes exactly what encoding/json writes, and that it reads back.
func TestMarshalMetadataIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	rows := []struct {
		name string
		m    domain.Metadata
	}{
		{"every field", domain.Metadata{SchemaVersion: 2, AccountID: "acct-1", Actor: "key:ops", RequestID: "req-42",
			IdempotencyKey: "idem-7", RequestFingerprint: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Surface: domain.SurfaceLaML, Time: at}},
		{"optional fields empty", domain.Metadata{SchemaVersion: 1, AccountID: "acct-1", Time: at}},
		{"zero", domain.Metadata{}},
		{"whole seconds, another zone", domain.Metadata{AccountID: "a", Time: time.Date(2025, 2, 17, 15, 0, 0, 0, time.FixedZone("CET", 3600))}},
		{"strings json escapes", domain.Metadata{AccountID: `quote " back \ tab 	 nl
`, Actor: "<html>&", RequestID: "é ü 日本", IdempotencyKey: "\x00\x7f", RequestFingerprint: "\u2028", Surface: "bad\xffutf8", Time: at}},
		{"negative schema version", domain.Metadata{SchemaVersion: -3, AccountID: "a", Time: at}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, err := domain.MarshalMetadata(row.m)
			require.NoError(t, err)
			want, err := json.Marshal(row.m)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
			appended, err := domain.AppendMetadata([]byte("[1,"), row.m)
			require.NoError(t, err)
			assert.Equal(t, "[1,"+string(want), string(appended), "AppendMetadata appends what MarshalMetadata returns")
			if row.name != "strings json escapes" {
				assert.LessOrEqual(t, len(got), domain.MetadataSizeHint(row.m), "the hint covers strings that need no escaping")
			}
			back, err := domain.UnmarshalMetadata(got)
			require.NoError(t, err)
			wantBack, err := domain.UnmarshalMetadata(want)
			require.NoError(t, err)
			assert.Equal(t, wantBack, back)
		})
	}
	_, err := domain.MarshalMetadata(domain.Metadata{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.Error(t, err, "a time json.Marshal cannot write")
	kept, err := domain.AppendMetadata([]byte("[1,"), domain.Metadata{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.Error(t, err, "a time json.Marshal cannot write, appended")
	assert.Equal(t, "[1,", string(kept), "AppendMetadata returns dst as it was on an error")
	_, err = domain.MarshalMetadata(domain.Metadata{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 25*3600))})
	require.Error(t, err, "an offset json.Marshal refuses")
}
