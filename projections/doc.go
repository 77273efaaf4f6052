// Package projections keeps callledger's read models: the views the API and
// the billing and audit tools read instead of folding streams. They are fed
// from any eventstore.Store ($all, in order) and live in their own Pebble
// database, in a directory of their own (cmd passes <data>/readmodels), so
// that they work the same over the embedded store and over KurrentDB, and can
// be dropped and rebuilt from the log at any time.
//
// # Runner
//
// Run reads the backlog after the stored checkpoint with ReadAll pages (into
// pooled, reused pages when the store is an eventstore.PageReader: a page
// goes back to the pool once every chunk cut from it is decoded), then
// follows $all from where the backlog ended: page by page as the store
// commits when it is an eventstore.CommitNotifier (the embedded store),
// else through SubscribeAll. Records
// flow through a pipeline: a chunker cuts them into chunks, DecodeWorkers
// goroutines decode chunks in parallel (domain.UnmarshalMetadata for the
// schema version, then domain.UnmarshalEvent), and one applier takes chunks
// in log order and folds each event into its call with domain.EvolveInPlace.
// Records of streams that are not calls (domain.CallIDFromStream) are
// skipped. The applier keeps the calls it touches in a bounded cache and
// commits a batch when it holds BatchEventsMax events or BatchCallsMax
// calls, or, while live, whenever it runs out of work. After such a
// commit it keeps at most LiveCallCacheMax call states (Options says why).
// A commit writes each touched call once, with the changes of the other
// read models derived from the call's state before and after the batch,
// and the checkpoint, in ONE Pebble batch: the read models always match their checkpoint, and a
// restart resumes from it without counting anything twice.
//
// Rebuild replays the log from position 0 the same way, page by page, but
// builds the read models aside: into a build database, a Pebble database in
// <dir>/rebuild.tmp opened without a WAL, which starts empty (it opens while
// the first pages are read and decoded). When the replay
// ends (or ctx stops it), the build database is written out, in key order,
// as uncompressed sstables (two key ranges in parallel, each file synced as
// it is written), and db.IngestAndExcise swaps them in: in one atomic,
// durable step every key of the read-model database (read models, failures,
// checkpoint) is replaced by the rebuilt ones; the build database is then
// closed and removed in the background. Until then queries and
// WaitFor see the previous read models; Status reports the rebuild's
// progress. Since nothing reads the build database's checkpoint before the
// swap, a rebuild's batches are cut by BatchCallsMax and only at 16 ×
// BatchEventsMax events, so that fewer calls are written twice. Memory is
// bounded by the pipeline (ChunkEventsMax × ChunksInFlightMax events, plus a
// few pages of ReadPageEvents), the call cache (CallCacheMax + BatchCallsMax states, up
// to CallCacheMax evicted ones kept for reuse, emptied as they are reused,
// and up to 64Ki billing totals), one Pebble batch, and the build
// database's memtables (MemTableBytes, flushed like any memtable when full). On disk, a rebuild
// needs room for the new read models twice (build database and sstables)
// beside the old ones until the swap.
//
// Apply is kept cheap because decoding dominates a rebuild: a call is
// encoded and written once per batch however many of its events the batch
// holds; the call view is a compact binary encoding written and read by hand
// (appendCallView and decodeCallView, guarded by a test that fills every
// field of domain.Call), encoded into the Pebble batch right after its keys
// are derived, while its state is in the CPU's caches; a commit's writes go
// into the Pebble batch in key order (the call views, then the deletes, then
// the other sets), which makes memtable inserts cheap; events are checked
// and folded in place (domain.CheckEvolveInPlace, domain.EvolveInPlace),
// never copying a State; a call whose first event (revision 0) comes after
// everything applied is known to be new, so it is not looked up; and during
// a rebuild the billing totals it wrote are remembered rather than read
// back. A
// rebuild writes no WAL, and the sstables it ingests (below everything
// else, as they overlap nothing once the old keys are excised) need no
// compaction.
//
// # What is synced
//
// Run's batches are committed with pebble.NoSync: they go to Pebble's WAL,
// which its own goroutine writes to the operating system in the
// background, and are not fsync'd one by one. A crash of the process can
// lose the latest batches (TestReadModelsCrash kills one with SIGKILL, and
// checks what the read models reopen with), a power loss more. That is
// safe because the read models are derived data: Pebble recovers to a
// prefix of the committed batches, each batch holds both read-model changes
// and the checkpoint that accounts for them, so the recovered read models
// match their (older) checkpoint, and the runner re-applies the lost events
// from the store, where every acknowledged append is fsync'd. What is
// synced: the format stamp, and a rebuild's swap. The build database has no
// WAL and is never synced: a crash mid-rebuild leaves the previous read
// models and their checkpoint untouched (Open deletes the build directory),
// and the rebuild is simply run again, or Run resumes from the old
// checkpoint. The sstables of a finished rebuild are synced before they are
// ingested, and the ingestion is recorded in Pebble's synced MANIFEST (or,
// when it has to wait on a memtable, in its WAL, synced), so that a
// finished `callledger replay` is durable.
//
// # Events the runner cannot apply
//
// An event that cannot be decoded (unknown type, newer schema version,
// malformed JSON) is left out; an event that breaks a domain invariant
// (domain.CheckEvolve) is folded as best Evolve can, like every reader of the
// stream folds it; an event whose fold panics (a domain bug: Evolve is
// total) is left out, and its call folded again from the store without it.
// Either way the runner logs it with slog, stores a Failure
// under the failure key with the batch that passes it, counts it in the
// checkpoint (Status.Failures, Status.LastFailure, Failures) and goes on.
// Stopping instead would wedge every read model, the API's reads and its
// read-your-writes, on one bad event of one call; the log keeps the event,
// verify tools report it, and a fixed build replays it with Rebuild. A
// failure of the read-model database itself is not an event failure: the
// session ends and Run resumes from the checkpoint after a pause.
//
// # Read models of another log
//
// A checkpoint names the event at its position (stream, revision, id), so
// that CheckLog can tell read models built from another log than the
// store's: a data directory whose events were replaced under its read
// models (an import, a restored backup) would otherwise be followed from a
// checkpoint that skips the new log's events up to it. callledger checks
// when it opens the read models, and rebuilds them if they are another
// log's; its import into the embedded store also drops the read models of
// the directory it loads.
//
// # Read-your-writes
//
// WaitFor(ctx, pos) returns once the checkpoint is at or past pos. The API
// calls it with the AppendResult.Position of its append (or the latest it
// wrote) before reading.
//
// # Key layout (a stored format)
//
// One Pebble database; the first byte of a key names its read model. Strings
// inside keys are escaped and terminated so that keys sort as tuples
// (appendString: 0x00 → 0x00 0xFF, terminator 0x00 0x01). Instants are 12
// bytes (Unix seconds, big-endian, sign bit flipped; then nanoseconds as a
// big-endian uint32). UTC days are 4 bytes (days since 1970-01-01,
// big-endian, sign bit flipped). Every value but the meta values and the
// indexes' call ids starts with a version byte, 0x01 (0x04 for call views
// of layout 4, 0x03 for those of layout 3, 0x02 for those of layout 2 and
// for list entries of layout 2).
//
//	'c' call id (16)                                → 0x04 + binary call view (layout 4), or
//	                                                  0x03 + binary call view (layout 3), or
//	                                                  0x02 + binary call view (layout 2), or
//	                                                  0x01 + JSON {"version": n, "call": domain.Call} (layout 1)
//	    The call view: the full domain.State; version is the stream revision + 1.
//	    Layout 4 is written; layouts 3, 2 and 1, written by earlier builds,
//	    are still read, and rewritten in layout 4 when their call changes or
//	    by a rebuild (Digest differs until then: it hashes the stored bytes).
//	    Layout 3 is layout 4 without the routing's twiml and
//	    application_sid, which read as empty (the builds that wrote it
//	    recorded neither, and refuse the events of schema version 3 that
//	    carry them). Layout 2 is layout 3 without end_from_duration, which
//	    reads as false (the builds that wrote it wrote no end_derived in
//	    events, so their calls fold to false). Layout 4 is the fields of
//	    domain.State in this order, each a uvarint length + bytes for
//	    strings and raw JSON, 16 bytes for uuids, a count then the elements
//	    for slices, a byte (0|1) for a bool, and a presence byte (0|1)
//	    before each optional (pointer) field:
//	      version (uvarint); id; account_id, direction, status,
//	      provider_status, voice_call_status, provider, provider_id,
//	      provider_metadata (raw JSON as folded, empty when none);
//	      participants (count; id, role, phone, person_id each); from, to;
//	      ?started_at, ?answered_at, ?ended_at; ?duration_seconds (varint);
//	      end_from_duration (not in layout 2); answered_by; ?price (rate,
//	      total as decimal strings with their scale, currency); recordings
//	      (count; content_type, provider_id, url each); ?transcript (JSON);
//	      details: notes, summary, call_type,
//	      ?contact (JSON), ?caller (JSON), ?transferred (0|1), staff_id,
//	      client_id, handled_by_staff_id, external_id, external_link,
//	      app_name, recording_id, phone_number_id, user_provider_sid,
//	      admin_provider_sid, provider_conference_id, sequence_run_id,
//	      sequence_id, organization_id, organization_membership_id,
//	      managed_phone_number_id, ?synced_with_crm_at; routing: url,
//	      method, fallback_url, fallback_method, status_callback,
//	      status_callback_method, twiml and application_sid (neither in
//	      layouts 3 and 2); ?quality (JSON); ?parent_call_id (16);
//	      ?deleted_at; created_at; updated_at.
//	    An instant is a length byte and time.Time's MarshalBinary form
//	    (Unix seconds, nanoseconds, zone offset). Nothing may follow.
//	'p' account, provider, provider id (strings)    → call id (16 bytes)
//	    Provider lookup, no longer written: builds before session 32 wrote
//	    one per call, which no route read (a call's id is derived from its
//	    account, provider and provider id: domain.CallIDFor), at the cost of
//	    one insert at a random place in the memtable for every new call.
//	    Entries that such a build wrote stay in its database, unread and left
//	    out of Digest, until the read models are rebuilt (callledger replay,
//	    or the rebuild of format 2 read models: see "Earlier formats").
//	'r' recording sid (16)                          → call id (16), added (12)
//	    Recording index: the sid of each recording a call holds
//	    (domain.Recording.SID, a UUID derived from the call id and the
//	    recording's identity, which the LaML surface names recordings by and
//	    which cannot be turned back into the call id) to the call, and when
//	    the ledger recorded it (the metadata Time of the event that added it:
//	    LaML's date_created), so that a list of recordings need not fold each
//	    call's events to date them. One entry per sid, written once;
//	    deleted calls keep theirs. The builds before session 44 wrote the
//	    call id alone (16 bytes), still read, and so is an entry written
//	    without its time (a call refolded after a failed fold keeps no event
//	    times): RecordingDates then says it cannot date the call's
//	    recordings, and the API folds its events; a rebuild dates them.
//	'l' account (string), start (12), call id (16)  → 0x02, deleted (0|1), then
//	                                                  status, from, to (uvarint length + bytes each),
//	                                                  flags (1: ended, 2: has a parent),
//	                                                  ?end (12), ?parent call id (16) (layout 2), or
//	                                                  0x01, deleted (0|1), status, from, to (layout 1)
//	    List index. The start is Call.StartedAt, or Call.CreatedAt when the
//	    call never said when it started; the end is Call.EndedAt, the parent
//	    Call.ParentCallID. Deleted calls stay, flagged, so that lists can
//	    include them on request. When the start moves, the old key is
//	    deleted in the same batch. Layout 2 is written; layout 1, without
//	    the end and the parent, written by the builds before session 44
//	    (format 2), is still read (List reads the call view of such an
//	    entry for its end and parent filters), though callledger rebuilds
//	    such read models as it opens them.
//	'b' day (4), account, provider, currency (strings) → 0x01 + JSON
//	                                                  {"total": "12.5", "calls": n,
//	                                                   "duration_seconds": n, "deleted_calls": n}
//	    Billing totals of priced calls by the UTC day of their start. total is
//	    the exact sum of the current Price.Total of the calls that are not
//	    deleted, written with trailing fractional zeros dropped (the scale of a
//	    running sum depends on its history; its stored bytes must not).
//	    deleted_calls counts deleted priced calls, which add nothing else. A
//	    re-pricing, a move of the start to another day, a change of duration
//	    or a deletion subtracts the call's old contribution and adds the new
//	    one; a bucket left empty is deleted. Billing reads the whole UTC days
//	    of a period from here; a bucket cannot be split, so the partial days
//	    at the period's edges are summed from the 'l' and 'c' entries of the
//	    accounts with a bucket on those days, with the same rules (derive).
//	'm' meta, not read models, left out of Digest:
//	    "m/format"               → "callledger-projections/3" (see "Earlier formats" below)
//	    "m/checkpoint"           → JSON checkpoint (position, counters, last failure,
//	                                and "last": the stream, revision and id of the event
//	                                at position, which CheckLog looks for in the store)
//	    "m/failure/" commit (8) prepare (8) → JSON Failure
//
// Digest hashes every key and value outside 'm' and 'p' in key order, so two
// databases that applied the same events have the same digest.
//
// # Earlier formats
//
// Format "callledger-projections/2", written by the builds before session
// 44, is format 3 with list entries of layout 1 (no end, no parent) and
// recording index entries of the call id alone (no time), whose events
// were judged by fewer invariants (a price's currency was not). Format
// "callledger-projections/1", written by the builds before the recording
// index, is format 2 without the 'r' keys. Open opens both (any other
// format is ErrFormat) and Run keeps them current, but NeedsRebuild
// reports them, and callledger rebuilds the read models when it opens them
// (cmd/callledger's openReadModels, before serving or reporting), which
// stamps format 3: every entry written in this build's layouts, every
// event judged by its invariants. A process killed before that rebuild
// ends leaves the earlier format, and the next open rebuilds again. One
// stopped by its context (SIGINT, SIGTERM) swaps in what the rebuild had
// built, as any stopped Rebuild does: format 3, at a checkpoint behind the
// log, from which Run catches up.
//
// A build writes a new format when it writes a layout that the builds
// before it cannot read, so that they refuse the database (ErrFormat: "a
// rebuild needed") rather than serve every read of it as an error, as the
// builds of format 2 did on list entries of layout 2. To go back to such a
// build, delete the read models' directory: it rebuilds them from the log
// as it starts.
package projections
