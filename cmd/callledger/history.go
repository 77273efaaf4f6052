package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// historyPageEvents is how many events of a stream history reads per call.
const historyPageEvents = 500

// historyEventsMax bounds the events one history prints: far beyond any
// real call, a guard against a runaway stream.
const historyEventsMax = 1_000_000

func addHistory(table map[string]command) {
	table["history"] = command{
		summary: "print a call's timeline: time, event, what changed, who, which surface and request; each event's position, id, idempotency key and hash",
		run:     runHistory,
	}
}

// historyEntry is one event of a call's timeline. Besides what happened, it
// carries what an auditor needs to tie the line back to the log and to
// check it was not altered: the event's id, its position in $all, the
// client's idempotency key and the stream-chain hash, named as the events
// route and the export name them (id, position, idempotency_key, hash).
type historyEntry struct {
	Revision  uint64
	Position  eventstore.Position
	ID        uuid.UUID
	Type      string
	Time      time.Time
	Actor     string
	Surface   domain.Surface
	RequestID string
	// IdempotencyKey is the Idempotency-Key of the write, "" when it had none.
	IdempotencyKey string
	// Hash is the stream-chain hash the store holds for the event.
	Hash eventstore.Hash
	// Rehash is eventstore.ChainHash recomputed over the event as read and
	// the stored hash of the event before it: Hash, unless the event (or
	// the hash) was altered since it was written.
	Rehash eventstore.Hash
	// Changes lists what the event changed in the folded call.
	Changes []fieldChange
	// Broken is the broken invariant the event is, if any.
	Broken error
	// Unreadable is why the event could not be decoded, if it could not
	// (its hashes may well check: a forged or older build's archive
	// imported). The call is folded without it, as the read models hold
	// it; Time and who wrote it are its metadata's when that parses.
	Unreadable error
}

// fieldChange is one field of the call that an event changed: Before is
// its value before the event, unless the call had no such field then
// (Added), After its value after it, unless the event removed it
// (Removed). A field present with an empty value (a provider_metadata
// string "") is a change to or from it.
type fieldChange struct {
	Field, Before, After string
	Added, Removed       bool
}

// runHistory prints the timeline of one call, folded from its stream.
func runHistory(ctx context.Context, args []string, env Env) (err error) {
	fs := newFlagSet("history", env)
	var cfg storeConfig
	cfg.register(fs, env.Getenv)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callledger history [flags] <call-id>")
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return usageError{errors.New("want exactly one call id")}
	}
	id, err := parseCallID(positional[0])
	if err != nil {
		return usageError{err}
	}
	cfg, release, err := servedCopy(ctx, cfg, env)
	if err != nil {
		return err
	}
	defer release()
	store, err := openToolStore(ctx, cfg, env, true)
	if err != nil {
		return err
	}
	defer closeInto(&err, store)

	entries, final, err := callHistory(ctx, store, id)
	if err != nil {
		return err
	}
	writeHistory(env.Stdout, id, entries, final)
	var unreadable uint64
	for i := range entries {
		if entries[i].Unreadable != nil {
			unreadable++
		}
	}
	if unreadable > 0 {
		return fmt.Errorf("%d of the call's events cannot be read (marked above): the call is shown folded without them, as the read models hold it (`callledger verify` lists every such event)", unreadable)
	}
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("history <id> --data dir"), and returns the latter.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for range len(args) + 1 {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, nil
}

// parseCallID accepts a call id as a UUID or as its stream id ("call-<uuid>").
func parseCallID(s string) (uuid.UUID, error) {
	if id, ok := domain.CallIDFromStream(s); ok {
		return id, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%q is not a call id", s)
	}
	return id, nil
}

// callHistory reads the stream of call id and folds it event by event,
// noting what each event changed, and recomputes each event's stream-chain
// hash from the one before it, as verify does (eventstore.Hasher).
func callHistory(ctx context.Context, store eventstore.Store, id uuid.UUID) ([]historyEntry, domain.State, error) {
	stream := domain.StreamID(id)
	var entries []historyEntry
	var state domain.State
	var hasher eventstore.Hasher
	var prev eventstore.Hash // the zero Hash before revision 0
	// state is folded in place (a Folding appends recordings where they
	// are, rather than copying them for each event), and flat is it
	// flattened, field by field: the "before" of the next event's diff.
	var folding domain.Folding
	var flat flatCall
	fields := callFieldsOf()
	for from := uint64(0); from < historyEventsMax; {
		recs, err := store.ReadStream(ctx, stream, from, historyPageEvents)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, state, fmt.Errorf("no call %s: %w", id, err)
		}
		if err != nil {
			return nil, state, err
		}
		for i := range recs {
			rec := &recs[i]
			entry := historyEntry{
				Revision: rec.Revision,
				Position: rec.Position,
				ID:       rec.ID,
				Type:     rec.Type,
				Hash:     rec.Hash,
				Rehash:   hasher.Chain(prev, rec.StreamID, rec.Revision, rec.ID, rec.Type, rec.Data, rec.Metadata),
			}
			prev = rec.Hash
			env, err := decodeEnvelope(rec)
			if err != nil {
				// Shown, not folded, as the read models leave it out:
				// the rest of the timeline is still the auditor's.
				entry.Unreadable = err
				if md, err := domain.UnmarshalMetadata(rec.Metadata); err == nil {
					entry.setMetadata(md)
				}
				entries = append(entries, entry)
				continue
			}
			entry.setMetadata(env.Metadata)
			entry.Broken = domain.CheckEvolveInPlace(&state, env)
			folding.EvolveInPlace(&state, env)
			entry.Changes = flat.update(fields, &state.Call)
			entries = append(entries, entry)
		}
		if len(recs) < historyPageEvents {
			return entries, state, nil
		}
		from = recs[len(recs)-1].Revision + 1
	}
	return entries, state, fmt.Errorf("%s: more than %d events", stream, historyEventsMax)
}

// setMetadata fills in the entry's time and who wrote the event from md,
// the event's metadata.
func (e *historyEntry) setMetadata(md domain.Metadata) {
	e.Time = md.Time.UTC()
	e.Actor, e.Surface, e.RequestID, e.IdempotencyKey = md.Actor, md.Surface, md.RequestID, md.IdempotencyKey
}

// decodeEnvelope decodes a stored record into the domain's event and metadata.
func decodeEnvelope(rec *eventstore.Record) (domain.Envelope, error) {
	env, err := domain.UnmarshalEnvelope(rec.Type, rec.Data, rec.Metadata)
	if err != nil {
		return domain.Envelope{}, fmt.Errorf("%s revision %d: %w", rec.StreamID, rec.Revision, err)
	}
	return env, nil
}

// diffFlat lists the fields of the call that differ between b and a, the
// call (or one of its top-level fields: flatCall) before and after an event
// flattened into dotted paths. Deriving the change from the fold, rather than describing each
// event type, keeps the timeline true to what Evolve does. created_at and
// updated_at are left out: every event moves them.
func diffFlat(b, a map[string]string) []fieldChange {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []fieldChange
	for _, k := range keys {
		if k == "created_at" || k == "updated_at" {
			continue
		}
		before, had := b[k]
		after, has := a[k]
		if had != has || before != after {
			out = append(out, fieldChange{Field: k, Before: before, After: after, Added: !had, Removed: !has})
		}
	}
	return out
}

// metadataField is the call's provider_metadata in flatCall's paths:
// the client's JSON, every value inside which is a field, null and "" too.
const metadataField = "provider_metadata"

// flatten adds v's leaves to out under their dotted paths. Each key is
// rendered with quoteKey, since provider_metadata's keys are the client's:
// a key with a dot, a space or a line break cannot pass for another path or
// forge a line. In the call's own fields a null or an empty string is no
// value (the field is left out), as the call's JSON writes a field it does
// not have; the values inside provider_metadata (verbatim) are the
// client's, and each is a field: null as null, "" as "", and an empty
// object or array as {} or [], so that the timeline shows each value the
// stored event holds.
func flatten(out map[string]string, path string, v any, verbatim bool) {
	inner := verbatim || path == metadataField // the values v holds
	switch x := v.(type) {
	case map[string]any:
		if verbatim && len(x) == 0 {
			out[path] = "{}"
		}
		for k, e := range x {
			p := quoteKey(k)
			if path != "" {
				p = path + "." + p
			}
			flatten(out, p, e, inner)
		}
	case []any:
		if verbatim && len(x) == 0 {
			out[path] = "[]"
		}
		for i, e := range x {
			flatten(out, fmt.Sprintf("%s[%d]", path, i), e, inner)
		}
	case string:
		if x != "" || verbatim {
			out[path] = x
		}
	case nil:
		if verbatim {
			out[path] = "null"
		}
	default:
		out[path] = fmt.Sprint(x)
	}
}

// writeHistory prints the timeline as text: one block per event, its first
// line what happened and who did it, then two indented lines tying it to the
// log (position, id, idempotency_key; hash), then what it changed.
//
// Every string read from the events is the client's (notes, provider ids,
// metadata keys and values, actor, request id, idempotency key) or an
// imported archive's, so none is printed raw: a line break in one would
// forge a line of the timeline, an escape sequence would control the
// auditor's terminal, a bidi override would reorder what is shown. A value
// is printed bare only when it is plain (quoteValue: ASCII letters, digits
// and -_.:/@+, as ids, statuses, amounts, phone numbers and times are), else
// Go-quoted with every control, format (bidi) and other unprintable
// character escaped; a metadata key likewise (quoteKey), also quoted when it
// holds a dot. The idempotency key is always quoted. The numbers, times,
// ids and hashes the ledger itself produces are printed as they are.
func writeHistory(w io.Writer, id uuid.UUID, entries []historyEntry, final domain.State) {
	fmt.Fprintf(w, "call %s: %d events", id, len(entries))
	if final.Call.AccountID != "" {
		fmt.Fprintf(w, ", account %s, status %s", quoteValue(final.Call.AccountID), quoteValue(string(final.Call.Status)))
	}
	if final.Call.Deleted() {
		fmt.Fprintf(w, ", deleted %s", timelineTime(final.Call.DeletedAt.UTC()))
	}
	fmt.Fprintln(w)
	for _, e := range entries {
		who := []string{}
		if e.Actor != "" {
			who = append(who, "by "+quoteValue(e.Actor))
		}
		if e.Surface != "" {
			who = append(who, "via "+quoteValue(string(e.Surface)))
		}
		if e.RequestID != "" {
			who = append(who, "request "+quoteValue(e.RequestID))
		}
		fmt.Fprintf(w, "%s  #%d  %s", timelineTime(e.Time), e.Revision, quoteValue(e.Type))
		if len(who) > 0 {
			fmt.Fprintf(w, "  (%s)", strings.Join(who, ", "))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "    position %s  id %s", e.Position, e.ID)
		if e.IdempotencyKey != "" {
			fmt.Fprintf(w, "  idempotency_key %s", strconv.Quote(e.IdempotencyKey))
		}
		fmt.Fprintf(w, "\n    hash %s\n", e.Hash)
		if e.Rehash != e.Hash {
			fmt.Fprintf(w, "    ! the stored hash does not recompute: the event and the hash before it give %s (run callledger verify)\n", e.Rehash)
		}
		if e.Broken != nil {
			fmt.Fprintf(w, "    ! %s\n", quoteUnprintable(e.Broken.Error()))
		}
		if e.Unreadable != nil {
			fmt.Fprintf(w, "    ! cannot be read: %s; the call is folded without it, as the read models leave it out\n", quoteUnprintable(e.Unreadable.Error()))
			continue
		}
		if len(e.Changes) == 0 {
			fmt.Fprintln(w, "    (no visible change)")
		}
		for _, c := range e.Changes {
			switch {
			case c.Added:
				fmt.Fprintf(w, "    %s: %s\n", c.Field, quoteValue(c.After))
			case c.Removed:
				fmt.Fprintf(w, "    %s: %s → (none)\n", c.Field, quoteValue(c.Before))
			default:
				fmt.Fprintf(w, "    %s: %s → %s\n", c.Field, quoteValue(c.Before), quoteValue(c.After))
			}
		}
	}
}

// quoteValue returns s bare when it is plain (see isPlain), else Go-quoted
// (strconv.Quote), which escapes every rune strconv.IsPrint refuses:
// control characters (line breaks, ESC), format characters such as the
// bidi overrides and isolates U+202A–U+202E, U+2066–U+2069 and the marks
// U+200E/U+200F, line and paragraph separators, and invalid UTF-8. A
// quoted value cannot be taken for a bare one: no plain value holds a '"'.
func quoteValue(s string) string {
	if isPlain(s) || s == "{}" || s == "[]" {
		// {} and [] too: an empty object or array of provider_metadata
		// (flatten), bare as null and the numbers are.
		return s
	}
	return strconv.Quote(s)
}

// quoteKey is quoteValue for one key of a dotted path: a key holding a dot
// is quoted too, so that it cannot pass for two keys.
func quoteKey(k string) string {
	if strings.Contains(k, ".") {
		return strconv.Quote(k)
	}
	return quoteValue(k)
}

// plainPunct is the punctuation a plain value may hold beside ASCII letters
// and digits: enough for ids, amounts, phone numbers, times and addresses
// to stay bare.
const plainPunct = "-_.:/@+"

// isPlain reports whether s is non-empty and made only of ASCII letters,
// digits and the bytes of plainPunct: a value that can neither break a
// line, nor reach the terminal as anything but itself, nor be misread as
// ending sooner or later than it does (no spaces, commas, arrows or
// parentheses, which the timeline's lines use between values).
func isPlain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte(plainPunct, b) >= 0:
		default:
			return false
		}
	}
	return true
}

// quoteUnprintable returns the ledger's own message s as it is, unless a
// value it names brought in a rune strconv.IsPrint refuses (or invalid
// UTF-8, checked apart: ranging over it yields U+FFFD, which prints): then
// Go-quoted, so that it stays one line and inert.
func quoteUnprintable(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// timelineTime writes an event's time for history's timeline: with
// milliseconds always (the precision every surface records at), so that the
// column lines up and 15:38:16.310 is not written .31 beside .394, and
// with nanoseconds, fixed too, for a time that has more (an imported
// archive's).
func timelineTime(t time.Time) string {
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z07:00")
}
