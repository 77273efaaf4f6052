package projections

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/domain/jsonwrite"
)

// callViewVersion is the version byte of the binary call view (layout 4 of
// doc.go). Layouts 1 (JSON), 2 (layout 3 without end_from_duration) and 3
// (layout 4 without the routing's twiml and application_sid) are still
// read: databases written before layout 4 keep working, and each call view
// is rewritten in layout 4 when its call next changes, or by a Rebuild.
const callViewVersion = 4

// callViewVersion3 is the version byte of layout 3, the binary call view
// before domain.Routing.Twiml and ApplicationSID: read as layout 4 with
// both empty, which is what its call's events fold to, since the builds
// that wrote it recorded neither (and refuse the events that carry them).
const callViewVersion3 = 3

// callViewVersion2 is the version byte of layout 2, the binary call view
// before domain.Call.EndFromDuration: read as layout 3 with the flag
// false, which is what its call's events fold to, since the builds that
// wrote it wrote no end_derived.
const callViewVersion2 = 2

// appendCallView appends the binary call view of s to dst: version byte,
// then the fields of domain.Call in declaration order (see doc.go). It is
// written by hand because the view is encoded once per call per batch and
// read back whenever a call leaves the runner's cache: reflection-based JSON
// was most of a rebuild's commit time. The rarely set nested values
// (contact, caller, transcript, quality) are JSON inside the view.
// TestCallViewCoversCall fills every field of domain.Call by reflection and
// fails when a field is added that this encoder does not write.
func appendCallView(dst []byte, s *domain.State) ([]byte, error) {
	c := &s.Call
	w := viewWriter{b: append(dst, callViewVersion)}
	w.uvarint(s.Version)
	w.uuid(c.ID)
	w.str(c.AccountID)
	w.str(string(c.Direction))
	w.str(string(c.Status))
	w.str(c.ProviderStatus)
	w.str(c.VoiceCallStatus)
	w.str(c.Provider)
	w.str(c.ProviderID)
	w.bytes(c.ProviderMetadata)
	w.uvarint(uint64(len(c.Participants)))
	for i := range c.Participants {
		pt := &c.Participants[i]
		w.uuid(pt.ID)
		w.str(string(pt.Role))
		w.str(pt.Phone)
		w.uuid(pt.PersonID)
	}
	w.str(c.From)
	w.str(c.To)
	w.timePtr(c.StartedAt)
	w.timePtr(c.AnsweredAt)
	w.timePtr(c.EndedAt)
	if w.present(c.DurationSeconds != nil) {
		w.b = binary.AppendVarint(w.b, *c.DurationSeconds)
	}
	w.bool(c.EndFromDuration)
	w.str(c.AnsweredBy)
	if w.present(c.Price != nil) {
		w.str(c.Price.Rate.String())
		w.str(c.Price.Total.String())
		w.str(c.Price.Currency)
	}
	w.uvarint(uint64(len(c.Recordings)))
	for i := range c.Recordings {
		r := &c.Recordings[i]
		w.str(r.ContentType)
		w.str(r.ProviderID)
		w.str(r.URL)
	}
	w.transcript(c.Transcript)
	d := &c.Details
	w.str(d.Notes)
	w.str(d.Summary)
	w.str(d.CallType)
	w.jsonPtr(d.Contact != nil, d.Contact)
	w.jsonPtr(d.Caller != nil, d.Caller)
	if w.present(d.Transferred != nil) {
		w.bool(*d.Transferred)
	}
	for _, v := range [...]string{d.StaffID, d.ClientID, d.HandledByStaffID, d.ExternalID,
		d.ExternalLink, d.AppName, d.RecordingID, d.PhoneNumberID, d.UserProviderSID,
		d.AdminProviderSID, d.ProviderConferenceID, d.SequenceRunID, d.SequenceID,
		d.OrganizationID, d.OrganizationMembershipID, d.ManagedPhoneNumberID} {
		w.str(v)
	}
	w.timePtr(d.SyncedWithCRMAt)
	r := &c.Routing
	for _, v := range [...]string{r.URL, r.Method, r.FallbackURL, r.FallbackMethod, r.StatusCallback, r.StatusCallbackMethod,
		r.Twiml, r.ApplicationSID} {
		w.str(v)
	}
	w.jsonPtr(c.Quality != nil, c.Quality)
	if w.present(c.ParentCallID != nil) {
		w.uuid(*c.ParentCallID)
	}
	w.timePtr(c.DeletedAt)
	w.time(c.CreatedAt)
	w.time(c.UpdatedAt)
	if w.err != nil {
		return nil, fmt.Errorf("encode call %s: %w", c.ID, w.err)
	}
	return w.b, nil
}

// decodeCallView reads a value written by appendCallView, or by the builds
// that wrote layouts 3 and 2, and refuses any other version byte
// (errBadValue): decodeCall sends it every value that is not layout 1.
func decodeCallView(v []byte) (domain.State, error) {
	if len(v) == 0 || (v[0] != callViewVersion && v[0] != callViewVersion3 && v[0] != callViewVersion2) {
		return domain.State{}, fmt.Errorf("%w: call view version", errBadValue)
	}
	layout2 := v[0] == callViewVersion2
	// Layout 2 is older than layout 3: it has no twiml or application_sid either.
	before4 := v[0] != callViewVersion
	var s domain.State
	c := &s.Call
	r := viewReader{b: v[1:]}
	s.Version = r.uvarint()
	c.ID = r.uuid()
	c.AccountID = r.str()
	c.Direction = domain.Direction(r.str())
	c.Status = domain.Status(r.str())
	c.ProviderStatus = r.str()
	c.VoiceCallStatus = r.str()
	c.Provider = r.str()
	c.ProviderID = r.str()
	if raw := r.bytes(); len(raw) > 0 {
		c.ProviderMetadata = json.RawMessage(raw)
	}
	if n := r.count(); n > 0 {
		c.Participants = make([]domain.Participant, n)
		for i := range c.Participants {
			pt := &c.Participants[i]
			pt.ID = r.uuid()
			pt.Role = domain.Role(r.str())
			pt.Phone = r.str()
			pt.PersonID = r.uuid()
		}
	}
	c.From = r.str()
	c.To = r.str()
	c.StartedAt = r.timePtr()
	c.AnsweredAt = r.timePtr()
	c.EndedAt = r.timePtr()
	if r.present() {
		d := r.varint()
		c.DurationSeconds = &d
	}
	if !layout2 {
		c.EndFromDuration = r.bool()
	}
	c.AnsweredBy = r.str()
	if r.present() {
		c.Price = &domain.Price{Rate: r.decimal(), Total: r.decimal(), Currency: r.str()}
	}
	if n := r.count(); n > 0 {
		c.Recordings = make([]domain.Recording, n)
		for i := range c.Recordings {
			rec := &c.Recordings[i]
			rec.ContentType = r.str()
			rec.ProviderID = r.str()
			rec.URL = r.str()
		}
	}
	c.Transcript = readJSON[domain.Transcript](&r)
	d := &c.Details
	d.Notes = r.str()
	d.Summary = r.str()
	d.CallType = r.str()
	d.Contact = readJSON[domain.Contact](&r)
	d.Caller = readJSON[domain.Member](&r)
	if r.present() {
		b := r.bool()
		d.Transferred = &b
	}
	for _, f := range [...]*string{&d.StaffID, &d.ClientID, &d.HandledByStaffID, &d.ExternalID,
		&d.ExternalLink, &d.AppName, &d.RecordingID, &d.PhoneNumberID, &d.UserProviderSID,
		&d.AdminProviderSID, &d.ProviderConferenceID, &d.SequenceRunID, &d.SequenceID,
		&d.OrganizationID, &d.OrganizationMembershipID, &d.ManagedPhoneNumberID} {
		*f = r.str()
	}
	d.SyncedWithCRMAt = r.timePtr()
	rt := &c.Routing
	for _, f := range [...]*string{&rt.URL, &rt.Method, &rt.FallbackURL, &rt.FallbackMethod, &rt.StatusCallback, &rt.StatusCallbackMethod} {
		*f = r.str()
	}
	if !before4 {
		rt.Twiml = r.str()
		rt.ApplicationSID = r.str()
	}
	c.Quality = readJSON[domain.Quality](&r)
	if r.present() {
		id := r.uuid()
		c.ParentCallID = &id
	}
	c.DeletedAt = r.timePtr()
	c.CreatedAt = r.time()
	c.UpdatedAt = r.time()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return domain.State{}, fmt.Errorf("%w: call view: %w", errBadValue, r.err)
	}
	return s, nil
}

// viewWriter appends the fields of a binary call view; the first error
// sticks.
type viewWriter struct {
	b   []byte
	err error
}

func (w *viewWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

// str appends a uvarint length and the bytes of s.
func (w *viewWriter) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// bytes appends a uvarint length and b.
func (w *viewWriter) bytes(b []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(b)))
	w.b = append(w.b, b...)
}

func (w *viewWriter) uuid(id uuid.UUID) { w.b = append(w.b, id[:]...) }

func (w *viewWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// present appends the presence byte of an optional field and returns ok.
func (w *viewWriter) present(ok bool) bool {
	w.bool(ok)
	return ok
}

// time appends t as a length byte and time.Time's binary form (Unix
// seconds, nanoseconds and zone offset), which reads back as the same
// instant in the same offset, UTC as UTC.
func (w *viewWriter) time(t time.Time) {
	at := len(w.b)
	w.b = append(w.b, 0)
	var err error
	w.b, err = t.AppendBinary(w.b)
	if err != nil {
		w.err = errors.Join(w.err, err)
		return
	}
	w.b[at] = byte(len(w.b) - at - 1)
}

func (w *viewWriter) timePtr(t *time.Time) {
	if w.present(t != nil) {
		w.time(*t)
	}
}

// transcript appends an optional transcript as the JSON json.Marshal
// writes for it, as jsonPtr would, but written by domain.WriteTranscriptJSON
// (most calls have a transcript, and reflection was most of their view's
// encoding).
func (w *viewWriter) transcript(t *domain.Transcript) {
	if !w.present(t != nil) {
		return
	}
	at := len(w.b)
	jw := jsonwrite.Writer{B: w.b}
	domain.WriteTranscriptJSON(&jw, t)
	w.b = prefixLength(jw.B, at)
}

// prefixLength puts the uvarint length of b[at:] in front of it, as bytes
// writes it, for a value written in place before its length was known.
func prefixLength(b []byte, at int) []byte {
	var n [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(n[:], uint64(len(b)-at))
	b = append(b, n[:l]...) // room for the length
	copy(b[at+l:], b[at:len(b)-l])
	copy(b[at:], n[:l])
	return b
}

// jsonPtr appends an optional nested value as JSON.
func (w *viewWriter) jsonPtr(ok bool, v any) {
	if !w.present(ok) {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = errors.Join(w.err, err)
		return
	}
	w.bytes(b)
}

// viewReader reads the fields of a binary call view; the first error sticks
// and later reads return zero values.
type viewReader struct {
	b   []byte
	err error
}

func (r *viewReader) fail(what string) {
	if r.err == nil {
		r.err = errors.New(what)
	}
	r.b = nil
}

func (r *viewReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a binary.AppendVarint: a zig-zag encoded uvarint.
func (r *viewReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a slice length, which cannot exceed the bytes left (every
// element takes at least one).
func (r *viewReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("bad count")
		return 0
	}
	return int(n)
}

func (r *viewReader) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail("short value")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// bytes reads a length-prefixed byte string, copied.
func (r *viewReader) bytes() []byte {
	b := r.take(r.uvarint())
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func (r *viewReader) str() string { return string(r.take(r.uvarint())) }

func (r *viewReader) uuid() uuid.UUID {
	var id uuid.UUID
	copy(id[:], r.take(uint64(len(id))))
	return id
}

func (r *viewReader) bool() bool {
	b := r.take(1)
	if len(b) == 0 {
		return false
	}
	if b[0] > 1 {
		r.fail("bad bool")
	}
	return b[0] == 1
}

func (r *viewReader) present() bool { return r.bool() }

func (r *viewReader) time() time.Time {
	b := r.take(1)
	if len(b) == 0 {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(r.take(uint64(b[0]))); err != nil {
		r.fail(err.Error())
	}
	return t
}

func (r *viewReader) timePtr() *time.Time {
	if !r.present() {
		return nil
	}
	t := r.time()
	return &t
}

func (r *viewReader) decimal() domain.Decimal {
	s := r.str()
	if r.err != nil {
		return domain.Decimal{}
	}
	d, err := domain.ParseDecimal(s)
	if err != nil {
		r.fail(err.Error())
	}
	return d
}

// readJSON reads an optional nested value written by jsonPtr.
func readJSON[T any](r *viewReader) *T {
	if !r.present() {
		return nil
	}
	b := r.take(r.uvarint())
	if r.err != nil {
		return nil
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		r.fail(err.Error())
		return nil
	}
	return v
}
