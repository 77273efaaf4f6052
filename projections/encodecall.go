package projections

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// appendCall appends the JSON of storedCall{Version, Call} to dst without
// reflection: encoding/json spends most of a rebuild's commit time walking
// the Call type and re-validating the output of every Decimal and time
// marshaler. The output follows the Call's JSON tags and omitempty rules, so
// json.Unmarshal reads it back as encoding/json's own output; the rarely set
// nested values (contact, caller, quality, transcript) go through
// encoding/json. TestAppendCallCoversCall fills every field of domain.Call
// by reflection and fails when a field is added that this encoder does not
// write.
func appendCall(dst []byte, version uint64, c *domain.Call) ([]byte, error) {
	w := objWriter{b: dst}
	w.open()
	w.key("version")
	w.b = strconv.AppendUint(w.b, version, 10)
	w.key("call")
	w.open()
	w.uuid("id", c.ID)
	w.str("account_id", c.AccountID)
	w.str("direction", string(c.Direction))
	w.str("status", string(c.Status))
	w.strOmit("provider_status", c.ProviderStatus)
	w.strOmit("voice_call_status", c.VoiceCallStatus)
	w.str("provider", c.Provider)
	w.str("provider_id", c.ProviderID)
	if len(c.ProviderMetadata) > 0 {
		w.key("provider_metadata")
		if err := w.raw(c.ProviderMetadata); err != nil {
			return nil, err
		}
	}
	if len(c.Participants) > 0 {
		w.key("participants")
		w.b = append(w.b, '[')
		for i := range c.Participants {
			pt := &c.Participants[i]
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.uuid("id", pt.ID)
			w.str("role", string(pt.Role))
			w.str("phone", pt.Phone)
			w.uuid("person_id", pt.PersonID)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.strOmit("from", c.From)
	w.strOmit("to", c.To)
	w.timePtr("started_at", c.StartedAt)
	w.timePtr("answered_at", c.AnsweredAt)
	w.timePtr("ended_at", c.EndedAt)
	w.int64Ptr("duration_seconds", c.DurationSeconds)
	w.strOmit("answered_by", c.AnsweredBy)
	if c.Price != nil {
		w.key("price")
		w.open()
		w.decimal("rate", c.Price.Rate)
		w.decimal("total", c.Price.Total)
		w.str("currency", c.Price.Currency)
		w.close()
	}
	if len(c.Recordings) > 0 {
		w.key("recordings")
		w.b = append(w.b, '[')
		for i := range c.Recordings {
			r := &c.Recordings[i]
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.str("content_type", r.ContentType)
			w.str("provider_id", r.ProviderID)
			w.str("url", r.URL)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	if c.Transcript != nil {
		if err := w.marshal("transcript", c.Transcript); err != nil {
			return nil, err
		}
	}
	w.key("details")
	if err := w.details(&c.Details); err != nil {
		return nil, err
	}
	w.key("routing")
	w.open()
	w.strOmit("url", c.Routing.URL)
	w.strOmit("method", c.Routing.Method)
	w.strOmit("fallback_url", c.Routing.FallbackURL)
	w.strOmit("fallback_method", c.Routing.FallbackMethod)
	w.strOmit("status_callback", c.Routing.StatusCallback)
	w.strOmit("status_callback_method", c.Routing.StatusCallbackMethod)
	w.close()
	if c.Quality != nil {
		if err := w.marshal("quality", c.Quality); err != nil {
			return nil, err
		}
	}
	if c.ParentCallID != nil {
		w.uuid("parent_call_id", *c.ParentCallID)
	}
	w.timePtr("deleted_at", c.DeletedAt)
	w.time("created_at", c.CreatedAt)
	w.time("updated_at", c.UpdatedAt)
	w.close()
	w.close()
	return w.b, nil
}

func (w *objWriter) details(d *domain.Details) error {
	w.open()
	w.strOmit("notes", d.Notes)
	w.strOmit("summary", d.Summary)
	w.strOmit("call_type", d.CallType)
	if d.Contact != nil {
		if err := w.marshal("contact", d.Contact); err != nil {
			return err
		}
	}
	if d.Caller != nil {
		if err := w.marshal("caller", d.Caller); err != nil {
			return err
		}
	}
	if d.Transferred != nil {
		w.key("transferred")
		w.b = strconv.AppendBool(w.b, *d.Transferred)
	}
	w.strOmit("staff_id", d.StaffID)
	w.strOmit("client_id", d.ClientID)
	w.strOmit("handled_by_staff_id", d.HandledByStaffID)
	w.strOmit("external_id", d.ExternalID)
	w.strOmit("external_link", d.ExternalLink)
	w.strOmit("app_name", d.AppName)
	w.strOmit("recording_id", d.RecordingID)
	w.strOmit("phone_number_id", d.PhoneNumberID)
	w.strOmit("user_provider_sid", d.UserProviderSID)
	w.strOmit("admin_provider_sid", d.AdminProviderSID)
	w.strOmit("provider_conference_id", d.ProviderConferenceID)
	w.strOmit("sequence_run_id", d.SequenceRunID)
	w.strOmit("sequence_id", d.SequenceID)
	w.strOmit("organization_id", d.OrganizationID)
	w.strOmit("organization_membership_id", d.OrganizationMembershipID)
	w.strOmit("managed_phone_number_id", d.ManagedPhoneNumberID)
	w.timePtr("synced_with_crm_at", d.SyncedWithCRMAt)
	w.close()
	return nil
}

// objWriter appends JSON objects; first tracks whether the current object
// still needs no comma.
type objWriter struct {
	b     []byte
	first bool
}

func (w *objWriter) open() {
	w.b = append(w.b, '{')
	w.first = true
}

func (w *objWriter) close() {
	w.b = append(w.b, '}')
	w.first = false
}

// key writes `"k":`, preceded by a comma unless it is the object's first.
// Keys are constants of this file: plain ASCII, no escaping needed.
func (w *objWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) str(k, v string) {
	w.key(k)
	w.b = appendJSONString(w.b, v)
}

func (w *objWriter) strOmit(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

// uuid writes id in its canonical form (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx),
// as uuid.UUID's MarshalText does, without allocating.
func (w *objWriter) uuid(k string, id uuid.UUID) {
	w.key(k)
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	w.b = append(w.b, '"')
	w.b = append(w.b, s[:]...)
	w.b = append(w.b, '"')
}

func (w *objWriter) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *objWriter) timePtr(k string, t *time.Time) {
	if t != nil {
		w.time(k, *t)
	}
}

func (w *objWriter) int64Ptr(k string, v *int64) {
	if v != nil {
		w.key(k)
		w.b = strconv.AppendInt(w.b, *v, 10)
	}
}

func (w *objWriter) decimal(k string, d domain.Decimal) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = append(w.b, d.String()...)
	w.b = append(w.b, '"')
}

// raw appends JSON held verbatim (provider metadata), compacted as
// encoding/json would, which also checks that it is JSON.
func (w *objWriter) raw(v json.RawMessage) error {
	var buf bytes.Buffer
	buf.Grow(len(v))
	if err := json.Compact(&buf, v); err != nil {
		return err
	}
	w.b = append(w.b, buf.Bytes()...)
	return nil
}

// marshal appends a rarely set nested value through encoding/json.
func (w *objWriter) marshal(k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.key(k)
	w.b = append(w.b, b...)
	return nil
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped. Strings that are not valid UTF-8 go through
// encoding/json, which replaces the bad bytes as it always has.
func appendJSONString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		b, _ := json.Marshal(s) // a string always marshals
		return append(dst, b...)
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
