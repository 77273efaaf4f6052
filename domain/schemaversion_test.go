package domain_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// schemaV2Keys are the JSON keys, as dotted paths (an array's elements
// under the array's key), that events of each type may carry in schema
// version 2: what the builds before version 3 read. Golden: a key added to
// an event is not here until someone decides which version writes it.
// end_derived is a version-2 key by design: builds before it fold its ends
// as reported, as they always did (timing.go).
var schemaV2Keys = map[string]string{
	domain.TypeCallUpserted: "account_id call_id created details details.admin_provider_sid details.app_name details.call_type " +
		"details.caller details.caller.first_name details.caller.last_name details.client_id details.contact " +
		"details.contact.first_name details.contact.id details.contact.is_unknown details.contact.last_name " +
		"details.external_id details.external_link details.handled_by_staff_id " +
		"details.managed_phone_number_id details.notes details.organization_id " +
		"details.organization_membership_id details.phone_number_id details.provider_conference_id " +
		"details.recording_id details.sequence_id details.sequence_run_id details.staff_id details.summary " +
		"details.synced_with_crm_at details.transferred details.user_provider_sid direction from " +
		"parent_call_id participants participants.id participants.person_id participants.phone " +
		"participants.role provider provider_id provider_metadata quality quality.audio_in_mos " +
		"quality.audio_out_jitter_avg_ms quality.audio_out_jitter_max_ms quality.audio_out_jitter_min_ms " +
		"quality.audio_out_lost_packets quality.audio_rtt_avg_ms quality.audio_rtt_max_ms " +
		"quality.audio_rtt_min_ms quality.sip_result_code recordings recordings.content_type " +
		"recordings.provider_id recordings.url routing routing.fallback_method routing.fallback_url " +
		"routing.method routing.status_callback routing.status_callback_method routing.url started_at to " +
		"transcript transcript.cues transcript.cues.from transcript.cues.speaker transcript.cues.text " +
		"transcript.cues.to",
	domain.TypeCallParticipantsChanged:     "participants participants.id participants.person_id participants.phone participants.role",
	domain.TypeCallProviderMetadataChanged: "provider_metadata",
	domain.TypeCallAnswered:                "answered_at answered_by previous_status provider_status voice_call_status",
	domain.TypeCallStatusChanged:           "answered_by previous_status provider_status status voice_call_status",
	domain.TypeCallPriced: "previous_price previous_price.currency previous_price.rate previous_price.total price price.currency " +
		"price.rate price.total",
	domain.TypeCallTerminated:    "duration_seconds end_derived ended_at previous_status provider_status status voice_call_status",
	domain.TypeCallCanceled:      "canceled_at previous_status provider_status voice_call_status",
	domain.TypeCallTimingChanged: "answered_at duration_seconds end_derived ended_at",
	domain.TypeCallDetailsChanged: "changes changes.admin_provider_sid changes.app_name changes.call_type changes.caller " +
		"changes.caller.first_name changes.caller.last_name changes.client_id changes.contact " +
		"changes.contact.first_name changes.contact.id changes.contact.is_unknown changes.contact.last_name " +
		"changes.external_id changes.external_link changes.handled_by_staff_id " +
		"changes.managed_phone_number_id changes.notes changes.organization_id " +
		"changes.organization_membership_id changes.phone_number_id changes.provider_conference_id " +
		"changes.recording_id changes.sequence_id changes.sequence_run_id changes.staff_id changes.summary " +
		"changes.synced_with_crm_at changes.transferred changes.user_provider_sid",
	domain.TypeCallRecordingAdded: "recording recording.content_type recording.provider_id recording.url",
	domain.TypeCallTranscriptChanged: "transcript transcript.cues transcript.cues.from transcript.cues.speaker transcript.cues.text " +
		"transcript.cues.to",
	domain.TypeCallRoutingChanged: "fallback_method fallback_url method status_callback status_callback_method url",
	domain.TypeCallQualityReported: "quality quality.audio_in_mos quality.audio_out_jitter_avg_ms quality.audio_out_jitter_max_ms " +
		"quality.audio_out_jitter_min_ms quality.audio_out_lost_packets quality.audio_rtt_avg_ms " +
		"quality.audio_rtt_max_ms quality.audio_rtt_min_ms quality.sip_result_code",
	domain.TypeCallDeleted: "deleted_at",
}

// opaqueKeys hold a client's JSON, whose keys are no schema's.
var opaqueKeys = []string{"provider_metadata"}

// TestSchemaVersionCoversEveryKey guards the schema version against a field
// added to an event later: every event of allEvents, and for each of their
// types one event per field reachable from it with only that field set
// (found by reflection, not listed), is written; one that writes a key
// outside schemaV2Keys must be version 3 (SchemaVersionOf), so that no new
// field is ever written under version 2, which the builds before it read
// without it; and one that writes none must be version 2, so that those
// builds read it.
func TestSchemaVersionCoversEveryKey(t *testing.T) {
	var events []domain.Event
	for _, e := range allEvents() {
		events = append(events, e)
		events = append(events, singleFieldEvents(t, e)...)
	}
	for _, e := range events {
		b, err := domain.MarshalEvent(e)
		require.NoError(t, err)
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		keys := map[string]bool{}
		jsonKeys("", v, keys)
		golden := strings.Fields(schemaV2Keys[e.EventType()])
		var beyond []string
		for k := range keys {
			if !slices.Contains(golden, k) {
				beyond = append(beyond, k)
			}
		}
		slices.Sort(beyond)
		if len(beyond) > 0 {
			assert.Equal(t, 3, domain.SchemaVersionOf([]domain.Event{e}), "%s writes %v, not version-2 keys: %s", e.EventType(), beyond, b)
		} else {
			assert.Equal(t, 2, domain.SchemaVersionOf([]domain.Event{e}), "%s writes only version-2 keys: %s", e.EventType(), b)
		}
	}
}

// jsonKeys adds to out the dotted path of every key in the JSON value v,
// the elements of an array under the array's own path.
func jsonKeys(prefix string, v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			out[path] = true
			if !slices.Contains(opaqueKeys, k) {
				jsonKeys(path, e, out)
			}
		}
	case []any:
		for _, e := range x {
			jsonKeys(prefix, e, out)
		}
	}
}

// singleFieldEvents returns one event of e's type per leaf field reachable
// from it (through structs, pointers and slices), each with only that leaf
// set, to a value that is not its zero value.
func singleFieldEvents(t *testing.T, e domain.Event) []domain.Event {
	typ := reflect.TypeOf(e)
	var out []domain.Event
	for _, path := range leafPaths(typ) {
		v := reflect.New(typ).Elem()
		f := settle(v)
		for _, i := range path {
			f = settle(f.Field(i))
		}
		setLeaf(t, f)
		out = append(out, v.Interface().(domain.Event))
	}
	return out
}

// leafTypes are the struct and slice types filled as one value.
var leafTypes = []reflect.Type{
	reflect.TypeFor[time.Time](), reflect.TypeFor[domain.Decimal](),
	reflect.TypeFor[json.RawMessage](), reflect.TypeFor[uuid.UUID](),
}

func isLeaf(t reflect.Type) bool {
	k := t.Kind()
	return slices.Contains(leafTypes, t) || k != reflect.Struct && k != reflect.Pointer && k != reflect.Slice
}

// leafPaths returns the field index paths of every leaf reachable from t,
// a pointer or slice step taking no index.
func leafPaths(t reflect.Type) [][]int {
	for !isLeaf(t) && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice) {
		t = t.Elem()
	}
	if isLeaf(t) {
		return [][]int{nil}
	}
	var out [][]int
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			continue
		}
		for _, p := range leafPaths(t.Field(i).Type) {
			out = append(out, append([]int{i}, p...))
		}
	}
	return out
}

// settle allocates through the pointers and slices (one element) at v and
// returns the struct or leaf they lead to.
func settle(v reflect.Value) reflect.Value {
	for !isLeaf(v.Type()) {
		switch v.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			v = v.Elem()
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			v = v.Index(0)
		default:
			return v
		}
	}
	return v
}

// setLeaf sets leaf v to a value that is not its zero value, so that
// omitempty writes it: the leaf filler the encoder's test uses too
// (domain.FillLeaf).
func setLeaf(t *testing.T, v reflect.Value) {
	t.Helper()
	if !domain.FillLeaf(v) {
		t.Fatalf("setLeaf: %s (%s) is not supported: extend it", v.Type(), v.Kind())
	}
}
