package domain

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/callledger/callledger/domain/jsonwrite"
)

// BenchmarkProviderMetadata measures the three scans of an upsert's
// provider metadata (the seed's) against the encoding/json calls they
// made before jsonscan.CompactValid let compact metadata skip them:
// validation (checkMetadata, was json.Valid), normalization (compactJSON,
// was json.Compact into a new buffer) and writing (the Writer's
// RawOmitEmpty, once for the event and once for the answer, was
// json.Compact onto the output):
//
//	go test ./domain/ -run '^$' -bench '^BenchmarkProviderMetadata$' -benchtime 1s
func BenchmarkProviderMetadata(b *testing.B) {
	m := json.RawMessage(`{"answered_by":"UShjUatqtF","user_id":"UShjUatqtF","phone_number_id":"PN72zMikBJ","conversation_id":"CN3b48bcc423e772aeba377414a4fa6a06"}`)
	b.Run("validate/encoding-json", func(b *testing.B) {
		for b.Loop() {
			if t := bytes.TrimSpace(m); !json.Valid(t) || t[0] != '{' {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("validate/checkMetadata", func(b *testing.B) {
		for b.Loop() {
			if err := checkMetadata(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compact/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var buf bytes.Buffer
			if err := json.Compact(&buf, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compact/compactJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			compactJSON(m)
		}
	})
	out := make([]byte, 0, 512)
	b.Run("write/encoding-json", func(b *testing.B) {
		for b.Loop() {
			buf := bytes.NewBuffer(out[:0])
			if err := json.Compact(buf, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write/RawOmitEmpty", func(b *testing.B) {
		for b.Loop() {
			w := jsonwrite.Writer{B: out[:0]}
			w.RawOmitEmpty("provider_metadata", m)
			if w.Failed() {
				b.Fatal("failed")
			}
		}
	})
}
