package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
	"github.com/callledger/callledger/eventstore/embedded/embeddedtest"
)

// result is what one command run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runTool runs callledger with args against dataDir, as main would, with
// buffers for its streams and stdin as given.
func runTool(ctx context.Context, t *testing.T, dataDir string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string {
			if k == "CALLLEDGER_DATA" {
				return dataDir
			}
			return ""
		},
	}
	code := run(ctx, args, env)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// genCall is a generated call: what its events say, to compare the tools'
// output with.
type genCall struct {
	id       uuid.UUID
	account  string
	provider string
	start    time.Time
	// prices in the order the call was priced; the last one counts.
	prices   []domain.Price
	duration int64
	deleted  bool
}

// events encodes the call's history as the API would write it.
func (c *genCall) events(t testing.TB) []eventstore.EventData {
	t.Helper()
	at := c.start
	var out []eventstore.EventData
	add := func(e domain.Event) {
		at = at.Add(time.Second)
		out = append(out, eventData(t, e, domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: c.account,
			Actor: "billing-test", RequestID: "req-" + uuid.NewString()[:8], Surface: domain.SurfaceCLI, Time: at}))
	}
	dir := domain.DirectionOutbound
	start := c.start
	add(domain.CallUpserted{Created: true, CallID: c.id, AccountID: c.account, Provider: c.provider,
		ProviderID: "p-" + c.id.String(), Direction: &dir, StartedAt: &start})
	if c.duration > 0 {
		d := c.duration
		add(domain.CallTimingChanged{DurationSeconds: &d})
	}
	for i, p := range c.prices {
		ev := domain.CallPriced{Price: p}
		if i > 0 {
			prev := c.prices[i-1]
			ev.PreviousPrice = &prev
		}
		add(ev)
	}
	if c.deleted {
		add(domain.CallDeleted{DeletedAt: at.Add(time.Second)})
	}
	return out
}

// eventData encodes e, with its metadata md, as the API would write it.
func eventData(t testing.TB, e domain.Event, md domain.Metadata) eventstore.EventData {
	t.Helper()
	data, err := domain.MarshalEvent(e)
	require.NoError(t, err)
	mdData, err := domain.MarshalMetadata(md)
	require.NoError(t, err)
	return eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: data, Metadata: mdData}
}

// appendCallEvents appends events, each encoded with the metadata meta
// gives it (the i-th event e), as the new stream of call id in the
// embedded store of dataDir.
func appendCallEvents(t testing.TB, dataDir string, id uuid.UUID, events []domain.Event, meta func(i int, e domain.Event) domain.Metadata) {
	t.Helper()
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		data[i] = eventData(t, e, meta(i, e))
	}
	store := openEmbeddedLedger(t, dataDir)
	_, err := store.Append(context.Background(), domain.StreamID(id), eventstore.NoStream(), data)
	require.NoError(t, err)
	require.NoError(t, store.Close())
}

// genCalls makes n calls over a few accounts, providers, currencies and
// days, with prices of four decimal places, many re-priced (some into
// another currency), some deleted, some never priced.
func genCalls(seed uint64, n int) []*genCall {
	rng := rand.New(rand.NewPCG(seed, 1))
	accounts := []string{"acme", "globex", "initech"}
	providers := []string{"twilio", "vonage", "signalwire"}
	currencies := []string{"USD", "USD", "USD", "EUR", "GBP"}
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	price := func() domain.Price {
		total := decimal.New(rng.Int64N(100000), -4) // 0.0000 .. 9.9999, e.g. 0.0135
		return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.NewDecimal(total), Currency: currencies[rng.IntN(len(currencies))]}
	}
	calls := make([]*genCall, n)
	for i := range calls {
		c := &genCall{
			id:       uuid.New(),
			account:  accounts[rng.IntN(len(accounts))],
			provider: providers[rng.IntN(len(providers))],
			start:    base.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour)))),
			duration: rng.Int64N(3600),
			deleted:  rng.IntN(20) == 0,
		}
		if rng.IntN(10) > 0 {
			for range 1 + rng.IntN(4) {
				c.prices = append(c.prices, price())
			}
		}
		calls[i] = c
	}
	return calls
}

// seedLedger writes the calls' events into the embedded store of dataDir,
// with writers concurrent enough for the group commit to make it quick.
func seedLedger(t testing.TB, dataDir string, calls []*genCall) {
	t.Helper()
	seedLedgerWith(t, dataDir, calls, 32)
}

// seedLedgerWith is seedLedger with the number of concurrent writers given:
// with one, every event lands at the same position on every run, which
// tests that tamper with a given position need.
func seedLedgerWith(t testing.TB, dataDir string, calls []*genCall, writers int) {
	t.Helper()
	store := openEmbeddedLedger(t, dataDir)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(calls); i += writers {
				c := calls[i]
				if _, err := store.Append(context.Background(), domain.StreamID(c.id), eventstore.NoStream(), c.events(t)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, store.Close())
}

// openEmbeddedLedger opens the embedded store of dataDir, small enough for tests.
func openEmbeddedLedger(t testing.TB, dataDir string) *embedded.Store {
	t.Helper()
	store, err := embedded.Open(filepath.Join(dataDir, "events"), embedded.Options{
		MemTableSize: 16 << 20, BlockCacheSize: 16 << 20, HeadCacheStreams: 1 << 12})
	require.NoError(t, err)
	return store
}

// flipStoredByte flips the byte at offset (from the end when negative) of
// the stored value of the event at pos, in the closed store of dataDir.
// With reseal it then recomputes the record checksum (CRC-32C of the value
// but its last 4 bytes, see the embedded package's doc.go), as a deliberate
// tamperer would; without, the flip is plain damage.
func flipStoredByte(t *testing.T, dataDir string, pos uint64, offset int, reseal bool) {
	t.Helper()
	embeddedtest.Rewrite(t, filepath.Join(dataDir, "events"), embeddedtest.EventKey(pos), func(value []byte) []byte {
		if offset < 0 {
			offset += len(value)
		}
		value[offset] ^= 0x04
		if reseal {
			return embeddedtest.Reseal(value)
		}
		return value
	})
}

func TestVerifyCommand(t *testing.T) {
	// Goal: verify says ok with counts and the head hash on an intact
	// ledger, and fails (exit 1) naming the event when one stored byte of
	// its data, its metadata or its hash changed: damage is caught by the
	// record checksum, a change with the checksum recomputed by the chains.
	ctx := context.Background()
	cases := []struct {
		name   string
		offset int
		reseal bool
		reason string
	}{
		{"TamperedMetadata", -7, true, "FAILED: position 17, stream call-"},
		{"TamperedStreamHash", 40, true, "FAILED: position 17, stream call-"},
		{"TamperedData", -300, true, "FAILED: position 17, stream call-"},
		{"DamagedMetadata", -7, false, "event at position 17: checksum"},
		{"DamagedData", -300, false, "event at position 17: checksum"},
		{"DamagedRecordedAt", 5, false, "event at position 17: checksum"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := genCalls(1, 40)
			seedLedgerWith(t, dir, calls, 1) // the same event at position 17 every run
			res := runTool(ctx, t, dir, "", "verify")
			require.Equal(t, 0, res.code, res.stderr)
			assert.Regexp(t, `^ok: \d+ events in 40 streams, head position \d+, head hash [0-9a-f]{64}\n$`, res.stdout)

			flipStoredByte(t, dir, 17, tc.offset, tc.reseal)
			res = runTool(ctx, t, dir, "", "verify")
			assert.Equal(t, 1, res.code)
			assert.Contains(t, res.stdout, tc.reason)
			assert.Contains(t, res.stderr, "position 17")
		})
	}
}

func TestVerifyCommandStreamsAndGaps(t *testing.T) {
	// Goal: verify fails (exit 1) naming the index key at fault, with the
	// call's stream and revision, when the embedded store's index keys
	// disagree with the call's events in $all (a stream index entry that
	// hides its latest event, a middle entry deleted or redirected, an
	// entry added past its end; the call's head naming another revision;
	// an event's id entry deleted), and names the gap, not the intact
	// event after it, when an event is deleted from $all.
	ctx := context.Background()
	dir := t.TempDir()
	seedLedgerWith(t, dir, genCalls(1, 40), 1) // the same log every run
	res := runTool(ctx, t, dir, "", "verify")
	require.Equal(t, 0, res.code, res.stderr)
	all := readLedger(t, dir)
	const gone = 17 // positions are 1..N
	call := all[gone-1].StreamID
	var positions []uint64 // of call's events, by revision
	other := uint64(0)     // the position of another call's event
	for _, r := range all {
		if r.StreamID == call {
			positions = append(positions, r.Position.Commit)
		} else {
			other = r.Position.Commit
		}
	}
	require.GreaterOrEqual(t, len(positions), 3, "the call has a middle event")
	last := uint64(len(positions) - 1)

	skipped := fmt.Sprintf("; revision %d of stream %s is missing", all[gone-1].Revision, call)
	if all[gone].StreamID != call {
		skipped = ""
	}
	lastEvent := all[positions[last]-1]
	// The call's head names the revision after its last, with its hash.
	wrongHead := embeddedtest.HeadValue(last+1, lastEvent.Hash)
	indexDisagrees := "events in 40 streams verified; the store's index disagrees with them\n"
	cases := []struct {
		name string
		edit func(db *pebble.DB) error
		want string
	}{
		{"LastIndexEntryDeleted", func(db *pebble.DB) error { return db.Delete(embeddedtest.StreamIndexKey(call, last), pebble.Sync) },
			fmt.Sprintf("FAILED: stream index key 'S' (stream %s, revision %d): missing: the event at position %d has no stream index key\n",
				call, last, positions[last])},
		{"MiddleIndexEntryDeleted", func(db *pebble.DB) error { return db.Delete(embeddedtest.StreamIndexKey(call, 1), pebble.Sync) },
			fmt.Sprintf("FAILED: stream index key 'S' (stream %s, revision 1): missing: the event at position %d has no stream index key\n",
				call, positions[1])},
		{"IndexEntryRedirected", func(db *pebble.DB) error {
			return db.Set(embeddedtest.StreamIndexKey(call, 1), embeddedtest.PositionValue(other), pebble.Sync)
		}, fmt.Sprintf("FAILED: stream index key 'S' (stream %s, revision 1): names position %d, but the event is at position %d\n",
			call, other, positions[1])},
		{"IndexEntryPastTheEnd", func(db *pebble.DB) error {
			return db.Set(embeddedtest.StreamIndexKey(call, last+1), embeddedtest.PositionValue(positions[last]), pebble.Sync)
		}, fmt.Sprintf("FAILED: stream index key 'S' (stream %s, revision %d): past the stream's head: its head key says revision %d is its last\n",
			call, last+1, last)},
		{"HeadRevisionWrong", func(db *pebble.DB) error { return db.Set(embeddedtest.HeadKey(call), wrongHead, pebble.Sync) },
			fmt.Sprintf("FAILED: stream head key 'H' (stream %s): says revision %d with hash %s, but the stream index ends at revision %d, the event at position %d with hash %s\n",
				call, last+1, lastEvent.Hash, last, positions[last], lastEvent.Hash)},
		{"IDEntryDeleted", func(db *pebble.DB) error { return db.Delete(embeddedtest.IDKey(all[gone-1].ID), pebble.Sync) },
			fmt.Sprintf("FAILED: id index key 'I' (event %s): missing: the event at position %d (stream %s, revision %d) has no id index key\n",
				all[gone-1].ID, gone, call, all[gone-1].Revision)},
		{"EventDeleted", func(db *pebble.DB) error { return db.Delete(embeddedtest.EventKey(gone), pebble.Sync) },
			fmt.Sprintf("FAILED: the $all chain breaks before position %d: an event between positions %d and %d is missing or was altered%s\n",
				gone+1, gone-1, gone+1, skipped)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tampered := t.TempDir()
			require.NoError(t, os.CopyFS(tampered, os.DirFS(dir)))
			embeddedtest.Edit(t, filepath.Join(tampered, "events"), func(db *pebble.DB) { require.NoError(t, tc.edit(db)) })

			res := runTool(ctx, t, tampered, "", "verify")
			assert.Equal(t, 1, res.code)
			assert.Contains(t, res.stdout, tc.want)
			assert.Contains(t, res.stderr, call)
			if tc.name != "EventDeleted" {
				assert.Contains(t, res.stdout, fmt.Sprintf("%d %s", len(all), indexDisagrees), "every event verified")
			}
		})
	}
}

// readLedger reads the whole log of the closed embedded store of dataDir.
func readLedger(t *testing.T, dataDir string) []eventstore.Record {
	t.Helper()
	store := openEmbeddedLedger(t, dataDir)
	defer func() { require.NoError(t, store.Close()) }()
	all, err := store.ReadAll(context.Background(), eventstore.Start, 0)
	require.NoError(t, err)
	return all
}

func TestVerifyCommandMissingStore(t *testing.T) {
	// Goal: a wrong --data is an error, not a new empty ledger that verifies.
	res := runTool(context.Background(), t, filepath.Join(t.TempDir(), "nowhere"), "", "verify")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "could not verify")
	assert.NotContains(t, res.stdout+res.stderr, "FAILED", "a store that is not there is no tampered log")
	assert.NoDirExists(t, filepath.Join(t.TempDir(), "nowhere", "events"))
}

func TestExportImportCommands(t *testing.T) {
	// Goal: export → import (from a file and from stdin) → verify gives a
	// ledger with the same events, hashes and head hash; a second import
	// into the same data directory is refused. "-" names the standard
	// streams: export --out - writes stdout, import --in - reads stdin.
	ctx := context.Background()
	src := t.TempDir()
	seedLedger(t, src, genCalls(2, 300))
	srcVerify := runTool(ctx, t, src, "", "verify")
	require.Equal(t, 0, srcVerify.code, srcVerify.stderr)

	file := filepath.Join(t.TempDir(), "ledger.jsonl")
	res := runTool(ctx, t, src, "", "export", "--out", file)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "exported ")
	stdoutExport := runTool(ctx, t, src, "", "export")
	require.Equal(t, 0, stdoutExport.code, stdoutExport.stderr)
	fileBytes, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, string(fileBytes), stdoutExport.stdout, "the file and stdout exports are the same")
	// "--out -" is stdout too, not a file named "-" in the working directory.
	cwd := t.TempDir()
	t.Chdir(cwd)
	dashExport := runTool(ctx, t, src, "", "export", "--out", "-")
	require.Equal(t, 0, dashExport.code, dashExport.stderr)
	assert.Equal(t, stdoutExport.stdout, dashExport.stdout, "--out - writes stdout")
	assert.Contains(t, dashExport.stderr, "exported ")
	assert.Empty(t, dirNames(t, cwd), "no file named -")

	for _, via := range []string{"file", "stdin", "stdin named -"} {
		t.Run(via, func(t *testing.T) {
			dst := t.TempDir()
			args := []string{"import"}
			stdin := ""
			switch via {
			case "file":
				args = append(args, "--in", file)
			case "stdin named -":
				args, stdin = append(args, "--in", "-"), string(fileBytes)
			default:
				stdin = string(fileBytes)
			}
			res := runTool(ctx, t, dst, stdin, args...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stdout, "imported ")
			// The export carries no API keys, which a serve of dst needs
			// to show the calls to their accounts: the import says so,
			// where a serve with a new key showed an empty ledger.
			assert.Contains(t, res.stderr, "an export carries the log, not the API keys")
			assert.Contains(t, res.stderr, filepath.Join(dst, "api-keys"))

			dstVerify := runTool(ctx, t, dst, "", "verify")
			require.Equal(t, 0, dstVerify.code, dstVerify.stderr)
			assert.Equal(t, srcVerify.stdout, dstVerify.stdout, "same counts, head position and head hash")

			again := runTool(ctx, t, dst, "", "import", "--in", file)
			assert.Equal(t, 1, again.code)
			assert.Contains(t, again.stderr, "not empty")

			// With the keys in place, no note.
			keyed := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(keyed, "api-keys"), []byte("acct:"+strings.Repeat("k", 32)+"\n"), 0o600))
			withKeys := runTool(ctx, t, keyed, "", "import", "--in", file)
			require.Equal(t, 0, withKeys.code, withKeys.stderr)
			assert.NotContains(t, withKeys.stderr, "API keys")

			reexport := runTool(ctx, t, dst, "", "export")
			require.Equal(t, 0, reexport.code)
			assert.Equal(t, withoutRecordedAt(t, string(fileBytes)), withoutRecordedAt(t, reexport.stdout))
		})
	}
}

// withoutRecordedAt drops the commit times, the one field an import renews.
func withoutRecordedAt(t *testing.T, export string) string {
	t.Helper()
	return regexp.MustCompile(`"recorded_at":"[^"]*",`).ReplaceAllString(export, "")
}

func TestImportInterrupted(t *testing.T) {
	// Goal: an import stopped by Ctrl-C (a cancelled ctx) or by a broken
	// line leaves no store and no temporary directory behind, and a later
	// import into the same directory works.
	ctx := context.Background()
	src := t.TempDir()
	seedLedger(t, src, genCalls(3, 50))
	export := runTool(ctx, t, src, "", "export")
	require.Equal(t, 0, export.code)

	dst := t.TempDir()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	res := runTool(cancelled, t, dst, export.stdout, "import")
	assert.Equal(t, 1, res.code)
	assertNoStore(t, dst)

	lines := strings.SplitAfter(export.stdout, "\n")
	broken := strings.Join(lines[:20], "") + strings.Replace(lines[20], `"type":"`, `"type":"X`, 1) + strings.Join(lines[21:], "")
	res = runTool(ctx, t, dst, broken, "import")
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "line 21")
	assertNoStore(t, dst)

	res = runTool(ctx, t, dst, export.stdout, "import")
	require.Equal(t, 0, res.code, res.stderr)
}

func assertNoStore(t *testing.T, dataDir string) {
	t.Helper()
	assert.NoDirExists(t, filepath.Join(dataDir, "events"))
	left, err := filepath.Glob(filepath.Join(dataDir, "events.import-*"))
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestExportToADirectoryIsRefused(t *testing.T) {
	// Goal: export --out naming a directory is a usage error at once,
	// where it wrote the whole log and then failed to rename it.
	dir := t.TempDir()
	seedLedger(t, dir, genCalls(12, 5))
	out := t.TempDir()
	res := runTool(context.Background(), t, dir, "", "export", "--out", out)
	assert.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--out "+out+" is a directory")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written into it")
}

func TestExportInterrupted(t *testing.T) {
	// Goal: a cancelled export leaves no file at --out.
	dir := t.TempDir()
	seedLedger(t, dir, genCalls(4, 20))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "x.jsonl")
	res := runTool(ctx, t, dir, "", "export", "--out", out)
	assert.Equal(t, 1, res.code)
	assert.NoFileExists(t, out)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".x.jsonl.tmp-*"))
	assert.Empty(t, left)
}

func TestHistoryCommand(t *testing.T) {
	// Goal: history prints a known call's timeline in order: time, revision,
	// event, who and surface, and the fields each event changed.
	ctx := context.Background()
	dir := t.TempDir()
	usd := func(s string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(s), Currency: "USD"}
	}
	c := &genCall{id: uuid.New(), account: "acme", provider: "Twilio", start: time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC),
		prices: []domain.Price{usd("0.0100"), usd("0.0135")}, duration: 61, deleted: true}
	seedLedger(t, dir, []*genCall{c})

	res := runTool(ctx, t, dir, "", "history", c.id.String())
	require.Equal(t, 0, res.code, res.stderr)
	out := res.stdout
	assert.Contains(t, out, fmt.Sprintf("call %s: 5 events, account acme", c.id))
	assert.Regexp(t, `, deleted 2025-03-04T10:00:\d\d\.\d{3}Z\n`, out, "the deletion time with milliseconds, as the events' are")
	assert.Contains(t, out, "2025-03-04T10:00:01.000Z  #0  CallUpserted  (by billing-test, via cli, request req-")
	assert.Contains(t, out, "    provider: twilio\n")
	assert.Contains(t, out, "#1  CallTimingChanged")
	assert.Contains(t, out, "    duration_seconds: 61\n")
	assert.Contains(t, out, "    price.total: 0.0100\n")
	assert.Contains(t, out, "    price.total: 0.0100 → 0.0135\n")
	assert.Contains(t, out, "#4  CallDeleted")
	assert.Less(t, strings.Index(out, "#0 "), strings.Index(out, "#4 "))
	assert.NotContains(t, out, "!", "no broken invariant")

	// Flags after the id work too, and the stream id is accepted.
	res = runTool(ctx, t, "/nonexistent", "", "history", domain.StreamID(c.id), "--data", dir)
	require.Equal(t, 0, res.code, res.stderr)

	res = runTool(ctx, t, dir, "", "history", uuid.NewString())
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "no call")
	res = runTool(ctx, t, dir, "", "history", "not-an-id")
	assert.Equal(t, 2, res.code)
}

func TestReplayCommand(t *testing.T) {
	// Goal: replay rebuilds every read model and prints the same counts and
	// digest however often it runs; a cancelled replay fails cleanly and the
	// next one gives the same digest again.
	ctx := context.Background()
	dir := t.TempDir()
	seedLedger(t, dir, genCalls(5, 500))

	first := runTool(ctx, t, dir, "", "replay")
	require.Equal(t, 0, first.code, first.stderr)
	assert.Regexp(t, `replayed \d+ events \(\d+ applied to calls, 0 failures\) up to position \d+`, first.stdout)
	assert.Regexp(t, `digest [0-9a-f]{64}\n`, first.stdout)
	second := runTool(ctx, t, dir, "", "replay")
	require.Equal(t, 0, second.code, second.stderr)
	assert.Equal(t, digestLine(first.stdout), digestLine(second.stdout))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	res := runTool(cancelled, t, dir, "", "replay")
	assert.Equal(t, 1, res.code)
	third := runTool(ctx, t, dir, "", "replay")
	require.Equal(t, 0, third.code, third.stderr)
	assert.Equal(t, digestLine(first.stdout), digestLine(third.stdout))
}

func digestLine(out string) string {
	return regexp.MustCompile(`digest [0-9a-f]{64}`).FindString(out)
}

// billingKey is a group of the billing agreement test.
type billingKey struct{ account, provider, currency, day string }

// expectedBilling sums the current price of every call one by one.
func expectedBilling(calls []*genCall, from, to time.Time) (map[billingKey]decimal.Decimal, map[billingKey]int64, int64) {
	totals := map[billingKey]decimal.Decimal{}
	counts := map[billingKey]int64{}
	var deleted int64
	for _, c := range calls {
		if len(c.prices) == 0 || c.start.Before(from) || !c.start.Before(to) {
			continue
		}
		p := c.prices[len(c.prices)-1]
		k := billingKey{c.account, domain.NormalizeProvider(c.provider), p.Currency, c.start.UTC().Format(time.DateOnly)}
		if c.deleted {
			deleted++
			continue
		}
		totals[k] = totals[k].Add(p.Total.Decimal)
		counts[k]++
	}
	return totals, counts, deleted
}

func TestBillingAgreement(t *testing.T) {
	// Goal: over tens of thousands of generated calls, priced like 0.0135
	// and re-priced many times (some into another currency), the billing
	// totals equal the sum of each call's current price, to the last digit,
	// per account, provider, currency and day; deleted calls are excluded
	// and counted; currencies never mix.
	if testing.Short() {
		t.Skip("generates 20k calls")
	}
	ctx := context.Background()
	dir := t.TempDir()
	calls := genCalls(6, 20000)
	seedLedger(t, dir, calls)
	from, to := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC)
	wantTotals, _, _ := expectedBilling(calls, from, to)

	res := runTool(ctx, t, dir, "", "billing", "--from", "2025-03-02", "--to", "2025-03-09",
		"--group-by", "account,provider,currency,day", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	billed := assertBillingJSON(t, res.stdout, calls, from, to)
	assert.Positive(t, billed, "billed durations are summed")

	// The same totals summed per currency only, exactly, and by CSV.
	res = runTool(ctx, t, dir, "", "billing", "--from", "2025-03-02", "--to", "2025-03-09", "--group-by", "currency", "--format", "csv")
	require.Equal(t, 0, res.code, res.stderr)
	perCurrency := map[string]decimal.Decimal{}
	for k, v := range wantTotals {
		perCurrency[k.currency] = perCurrency[k.currency].Add(v)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Equal(t, "currency,total,calls,billed_duration_seconds,deleted_calls", lines[0])
	require.Len(t, lines, 1+len(perCurrency))
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		assert.True(t, perCurrency[f[0]].Equal(decimal.RequireFromString(f[1])), "%s: want %s, got %s", f[0], perCurrency[f[0]], f[1])
	}
}

func TestBillingExactBounds(t *testing.T) {
	// Goal: --from and --to bound the period to the nanosecond, in any
	// offset: the command counts a call when its start time is in [from,
	// to), as summing the calls one by one does, however the period cuts
	// the days; --from equal to --to is empty. "t" and "z" may be lower
	// case, as RFC 3339 allows.
	ctx := context.Background()
	dir := t.TempDir()
	calls := genCalls(9, 3000)
	seedLedger(t, dir, calls)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct{ from, to string }{
		{"2025-03-01T00:00:00Z", "2025-03-01T12:00:00Z"},
		{"2025-03-01T12:00:00Z", "2025-03-02T00:00:00Z"},
		{"2025-03-02T00:00:00+05:00", "2025-03-03T00:00:00+05:00"},
		{"2025-03-02T00:00:00-08:00", "2025-03-04T17:30:00.000000001-08:00"},
		{"2025-03-03T09:15:00.5Z", "2025-03-03T09:45:00Z"},
		{"2025-03-02T00:00:00+05:00", "2025-03-02T00:00:00+05:00"},
		{"2025-03-01t00:00:00z", "2025-03-01t12:00:00z"},
		{"2025-03-02t00:00:00-08:00", "2025-03-04T17:30:00.000000001z"},
	} {
		res := runTool(ctx, t, dir, "", "billing", "--from", tc.from, "--to", tc.to,
			"--group-by", "account,provider,currency,day", "--format", "json")
		require.Equal(t, 0, res.code, res.stderr)
		assertBillingJSON(t, res.stdout, calls, utc(tc.from), utc(tc.to))
	}

	// By month, as a CSV: a month column after the account's, each
	// account's month (all of March here) the sum of its days.
	from, to := utc("2025-03-02T12:00:00Z"), utc("2025-03-09T00:00:00Z")
	res := runTool(ctx, t, dir, "", "billing", "--from", "2025-03-02T12:00:00Z", "--to", "2025-03-09", "--group-by", "account,month,currency", "--format", "csv")
	require.Equal(t, 0, res.code, res.stderr)
	wantTotals, _, _ := expectedBilling(calls, from, to)
	perMonth := map[[3]string]decimal.Decimal{}
	for k, v := range wantTotals {
		key := [3]string{k.account, k.day[:len("2025-03")], k.currency}
		perMonth[key] = perMonth[key].Add(v)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	require.Equal(t, "account,month,currency,total,calls,billed_duration_seconds,deleted_calls", lines[0])
	require.Len(t, lines, 1+len(perMonth))
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		want, ok := perMonth[[3]string{f[0], f[1], f[2]}]
		require.True(t, ok, "unexpected group %q", line)
		assert.True(t, want.Equal(decimal.RequireFromString(f[3])), "%s: want %s", line, want)
	}
}

func TestBillingWarnsOfAnAccountWithoutCalls(t *testing.T) {
	// Goal: --account naming no account of the ledger (another case, a
	// typo) prints its empty totals and warns on stderr, exit 0 (an
	// account may have no calls yet); an account whose calls fall outside
	// the period, or that has calls, is not warned of.
	ctx := context.Background()
	dir := t.TempDir()
	calls := genCalls(4, 300)
	seedLedger(t, dir, calls)
	for _, tc := range []struct {
		name string
		args []string
		warn bool
	}{
		{"Known", []string{"--account", "acme"}, false},
		{"KnownOutsideThePeriod", []string{"--account", "acme", "--from", "2030-01-01"}, false},
		{"AnotherCase", []string{"--account", "ACME"}, true},
		{"Misspelt", []string{"--account", "acm", "--format", "json"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runTool(ctx, t, dir, "", append([]string{"billing"}, tc.args...)...)
			require.Equal(t, 0, res.code, res.stderr)
			if tc.warn {
				assert.Contains(t, res.stderr, "warning: the ledger holds no call of account")
			} else {
				assert.NotContains(t, res.stderr, "warning")
			}
		})
	}
}

func TestBillingZeroTimeBounds(t *testing.T) {
	// Goal: --from and --to at or near Go's zero time (0001-01-01T00:00:00Z)
	// are bounds like any other: calls may start in the year 0000, and a
	// period ending a second after the zero time never counts 2026's calls;
	// the bounds are echoed, never dropped as "unbounded".
	ctx := context.Background()
	dir := t.TempDir()
	var zero time.Time
	usd := func(total string) []domain.Price {
		return []domain.Price{{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(total), Currency: "USD"}}
	}
	seedLedger(t, dir, []*genCall{
		{id: uuid.New(), account: "acme", provider: "twilio", start: zero.Add(-13 * time.Hour), prices: usd("0.01")},
		{id: uuid.New(), account: "acme", provider: "twilio", start: zero.Add(-6 * time.Hour), prices: usd("0.02")},
		{id: uuid.New(), account: "acme", provider: "twilio", start: zero, prices: usd("0.04")},
		{id: uuid.New(), account: "acme", provider: "twilio", start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), prices: usd("0.16")},
	})
	for _, tc := range []struct {
		name            string
		args            []string
		total, from, to string
	}{
		{"ToJustPastZeroTime", []string{"--to", "0001-01-01T00:00:01Z"}, "0.07", "", "0001-01-01T00:00:01Z"},
		{"ToZeroTimeDay", []string{"--to", "0001-01-01"}, "0.03", "", "0001-01-01T00:00:00Z"},
		{"AcrossZeroTime", []string{"--from", "0000-12-31T12:00:00Z", "--to", "0001-01-01T00:00:01Z"}, "0.06", "0000-12-31T12:00:00Z", "0001-01-01T00:00:01Z"},
		{"FromZeroTime", []string{"--from", "0001-01-01T00:00:00Z"}, "0.2", "0001-01-01T00:00:00Z", ""},
		{"Unbounded", nil, "0.23", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runTool(ctx, t, dir, "", append([]string{"billing", "--group-by", "currency", "--format", "json"}, tc.args...)...)
			require.Equal(t, 0, res.code, res.stderr)
			var got struct {
				From, To string
				Groups   []struct{ Currency, Total string }
			}
			require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
			assert.Equal(t, tc.from, got.From)
			assert.Equal(t, tc.to, got.To)
			require.Len(t, got.Groups, 1, res.stdout)
			assert.Equal(t, tc.total, got.Groups[0].Total)
		})
	}
}

func TestBillingCSVCellsAreText(t *testing.T) {
	// Goal: in billing's CSV an account or provider that a spreadsheet would
	// run as a formula (=, +, -, @, a tab or a carriage return first) is
	// written after an apostrophe, which spreadsheets read as "text" and
	// hide (a security probe: providers are clients' words); other names,
	// and the table's and the JSON's, are as stored.
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	price := []domain.Price{{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("0.10"), Currency: "USD"}}
	formula := `=hyperlink("http://x.example.com","y")` // billing groups providers in lower case
	seedLedger(t, dir, []*genCall{
		{id: uuid.New(), account: "acme", provider: formula, start: start, prices: price},
		{id: uuid.New(), account: "acme", provider: "+1+2", start: start, prices: price},
		{id: uuid.New(), account: "@acme", provider: "twilio", start: start, prices: price},
		{id: uuid.New(), account: "acme", provider: "twilio", start: start, prices: price},
	})
	res := runTool(ctx, t, dir, "", "billing", "--group-by", "account,provider,currency", "--format", "csv")
	require.Equal(t, 0, res.code, res.stderr)
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	require.NoError(t, err)
	var names [][2]string
	for _, r := range rows[1:] {
		names = append(names, [2]string{r[0], r[1]})
	}
	assert.ElementsMatch(t, [][2]string{{"acme", "'" + formula}, {"acme", "'+1+2"}, {"'@acme", "twilio"}, {"acme", "twilio"}}, names)

	res = runTool(ctx, t, dir, "", "billing", "--group-by", "account,provider,currency", "--format", "json")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, `"provider": "=hyperlink(`)
	assert.Contains(t, res.stdout, `"account": "@acme"`)
}

func TestBillingFlagsAsTheAPI(t *testing.T) {
	// Goal: the command checks --from, --to, --group-by and --scale as GET
	// /v1/billing/summary checks its parameters: the same values refused,
	// with a message naming the flag (never an internal error), the same
	// scale bound, and group_by normalised alike in the JSON output.
	ctx := context.Background()
	dir := t.TempDir()
	seedLedger(t, dir, genCalls(10, 50))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--group-by", ",,"}, `--group-by: unknown dimension ""`},
		{[]string{"--group-by", "day,,currency"}, `--group-by: unknown dimension ""`},
		{[]string{"--group-by", "planet"}, `--group-by: unknown dimension "planet"`},
		{[]string{"--scale", "19"}, "--scale: must be an integer in 0..18"},
		{[]string{"--scale", "-1"}, "--scale: must be an integer in 0..18"},
		{[]string{"--scale", "x"}, "--scale: must be an integer in 0..18"},
		{[]string{"--scale", "+2"}, "--scale: must be an integer in 0..18"},
		{[]string{"--scale", ""}, "--scale: is empty"},
		{[]string{"--from", "yesterday"}, "--from: must be a day"},
		{[]string{"--from", "2025-03-01t12:00:00"}, "--from: must be a day"},
		{[]string{"--to", "2025-03-01x12:00:00z"}, "--to: must be a day"},
		{[]string{"--to", "2025-13-01"}, "--to: must be a day"},
		{[]string{"--from", "2025-03-02", "--to", "2025-03-01"}, "--to: is before --from"},
		{[]string{"--from", "2025-03-01T12:00:00.000000001Z", "--to", "2025-03-01T12:00:00Z"}, "--to: is before --from"},
		// A bound given empty ("$START" unset) is refused, not read as
		// none: it would bill the whole ledger.
		{[]string{"--from", ""}, "--from: is empty"},
		{[]string{"--from", "2025-03-01", "--to", ""}, "--to: is empty"},
		{[]string{"--from=", "--to", "2025-03-01"}, "--from: is empty"},
		{[]string{"--account", ""}, "flag -account: is empty"},
	} {
		res := runTool(ctx, t, dir, "", append([]string{"billing"}, tc.args...)...)
		assert.Equal(t, 2, res.code, "%v: %s", tc.args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.NotContains(t, res.stderr, "projections:", tc.args)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--group-by", ""}, `"group_by": [
    "currency"
  ]`},
		{[]string{"--group-by", "day, day"}, `"group_by": [
    "day"
  ]`},
		{[]string{"--group-by", "currency", "--scale", "18"}, `"group_by": [
    "currency"
  ]`},
		// As the route's body: the scale given, and the account summed.
		{[]string{"--scale", "2"}, `"scale": 2,`},
		{[]string{"--account", "acct-x"}, `"account": "acct-x",`},
	} {
		res := runTool(ctx, t, dir, "", append([]string{"billing", "--format", "json"}, tc.args...)...)
		require.Equal(t, 0, res.code, "%v: %s", tc.args, res.stderr)
		assert.Contains(t, res.stdout, tc.want, tc.args)
	}
}

// assertBillingJSON checks billing's JSON output grouped by account,
// provider, currency and day against summing the calls that start in
// [from, to) one by one, and returns the billed duration it sums.
func assertBillingJSON(t *testing.T, stdout string, calls []*genCall, from, to time.Time) (billed int64) {
	t.Helper()
	wantTotals, wantCounts, wantDeleted := expectedBilling(calls, from, to)
	// The names of GET /v1/billing/summary's body, and no others: a billing
	// job reads the command's output as it reads the API's.
	var got struct {
		From, To string
		GroupBy  []string `json:"group_by"`
		Groups   []struct {
			Account, Provider, Currency, Day, Total string
			Calls                                   int64
			BilledDurationSeconds                   int64 `json:"billed_duration_seconds"`
			DeletedCalls                            int64 `json:"deleted_calls"`
		}
		DeletedCalls      int64  `json:"deleted_calls_excluded"`
		ReadModelFailures *int64 `json:"read_model_failures"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got))
	assert.Equal(t, from.UTC().Format(time.RFC3339Nano), got.From, "from is echoed in UTC")
	assert.Equal(t, to.UTC().Format(time.RFC3339Nano), got.To, "to is echoed in UTC")
	assert.Equal(t, []string{"account", "provider", "currency", "day"}, got.GroupBy)
	gotTotals := map[billingKey]decimal.Decimal{}
	for _, r := range got.Groups {
		billed += r.BilledDurationSeconds
		k := billingKey{r.Account, r.Provider, r.Currency, r.Day}
		total, err := decimal.NewFromString(r.Total)
		require.NoError(t, err, "total %q", r.Total)
		assert.NotContains(t, r.Total, "e", "never exponent notation")
		gotTotals[k] = total
		if r.Calls > 0 {
			assert.Equal(t, wantCounts[k], r.Calls, "calls of %v", k)
		}
	}
	require.Len(t, gotTotals, len(wantTotals)+countDeletedOnlyGroups(calls, from, to, wantTotals))
	for k, want := range wantTotals {
		assert.True(t, want.Equal(gotTotals[k]), "%v: want %s, got %s", k, want, gotTotals[k])
	}
	assert.Equal(t, wantDeleted, got.DeletedCalls)
	if assert.NotNil(t, got.ReadModelFailures, "read_model_failures is always there") {
		assert.Zero(t, *got.ReadModelFailures)
	}
	return billed
}

// countDeletedOnlyGroups counts groups whose priced calls were all deleted:
// they appear with a zero total and their deleted count.
func countDeletedOnlyGroups(calls []*genCall, from, to time.Time, live map[billingKey]decimal.Decimal) int {
	seen := map[billingKey]bool{}
	for _, c := range calls {
		if !c.deleted || len(c.prices) == 0 || c.start.Before(from) || !c.start.Before(to) {
			continue
		}
		p := c.prices[len(c.prices)-1]
		k := billingKey{c.account, domain.NormalizeProvider(c.provider), p.Currency, c.start.UTC().Format(time.DateOnly)}
		if _, ok := live[k]; !ok {
			seen[k] = true
		}
	}
	return len(seen)
}

func TestBillingFormats(t *testing.T) {
	// Goal: each format prints exact totals of one known ledger; --scale
	// rounds only when asked; bad flags are usage errors.
	ctx := context.Background()
	dir := t.TempDir()
	day := time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)
	price := func(total, cur string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.0135"), Total: domain.MustParseDecimal(total), Currency: cur}
	}
	calls := []*genCall{
		{id: uuid.New(), account: "acme", provider: "twilio", start: day, duration: 60, prices: []domain.Price{price("1.00", "USD"), price("0.0135", "USD")}},
		{id: uuid.New(), account: "acme", provider: "twilio", start: day.Add(time.Hour), duration: 30, prices: []domain.Price{price("0.0270", "USD")}},
		{id: uuid.New(), account: "acme", provider: "twilio", start: day.Add(2 * time.Hour), prices: []domain.Price{price("2.50", "EUR")}},
		{id: uuid.New(), account: "acme", provider: "twilio", start: day.Add(3 * time.Hour), prices: []domain.Price{price("9.99", "USD")}, deleted: true},
	}
	seedLedger(t, dir, calls)

	res := runTool(ctx, t, dir, "", "billing", "--group-by", "account,currency")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `acme\s+EUR\s+2\.5\s+1\s+0\s+0`, res.stdout)
	assert.Regexp(t, `acme\s+USD\s+0\.0405\s+2\s+90\s+1`, res.stdout)
	assert.Contains(t, res.stdout, "\n2 groups of the calls that start at any time; 1 deleted call excluded\n")

	// The table's last line says which calls it sums.
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--from", "2025-05-01", "--to", "2025-05-02T00:00:00+02:00"}, "in [2025-05-01T00:00:00Z, 2025-05-01T22:00:00Z)"},
		{[]string{"--from", "2025-05-01"}, "at or after 2025-05-01T00:00:00Z"},
		{[]string{"--to", "2025-05-02"}, "before 2025-05-02T00:00:00Z"},
	} {
		res := runTool(ctx, t, dir, "", append([]string{"billing", "--group-by", "currency"}, tc.flags...)...)
		require.Equal(t, 0, res.code, res.stderr)
		assert.Contains(t, res.stdout, "\n2 groups of the calls that start "+tc.want+"; 1 deleted call excluded\n", tc.flags)
	}

	res = runTool(ctx, t, dir, "", "billing", "--group-by", "currency", "--format", "json", "--scale", "2")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, `"total": "0.04"`)
	assert.Contains(t, res.stdout, `"total": "2.50"`)

	// Bounds are echoed as GET /v1/billing/summary echoes them: in UTC, to
	// the nanosecond they were given with.
	res = runTool(ctx, t, dir, "", "billing", "--group-by", "currency", "--format", "json",
		"--from", "2025-03-04T11:30:00.25+01:00", "--to", "2025-03-05")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, `"from": "2025-03-04T10:30:00.25Z"`)
	assert.Contains(t, res.stdout, `"to": "2025-03-05T00:00:00Z"`)

	for _, bad := range [][]string{{"--format", "xml"}, {"--group-by", "planet"}, {"--from", "yesterday"}, {"--scale", "-5"}, {"--scale", "30"}} {
		res := runTool(ctx, t, dir, "", append([]string{"billing"}, bad...)...)
		assert.Equal(t, 2, res.code, "%v", bad)
	}
}

func TestProgressMeter(t *testing.T) {
	// Goal: off a terminal, the meter writes a plain line at most every
	// progressPlainEvery, with events done, rate, percentage and ETA.
	var out bytes.Buffer
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newProgressMeter(Env{Stderr: &out}, "verify")
	m.now = func() time.Time { return clock }
	m.start, m.shown = clock, clock
	assert.False(t, m.tty, "a buffer is not a terminal")

	clock = clock.Add(time.Second)
	m.update(100, 1000)
	assert.Empty(t, out.String(), "too soon for a plain line")
	clock = clock.Add(progressPlainEvery)
	m.update(600, 1000)
	assert.Equal(t, "verify: 600 events, 100 events/s, 6s elapsed, 60.0% of 1000, ETA 4s\n", out.String())
	m.finish()
	assert.Equal(t, 1, strings.Count(out.String(), "\n"))
}

func TestReadModelsOfAnotherLedger(t *testing.T) {
	// Goal: read models built from one ledger never stand for another's
	// log. An import into a data directory that held a bigger ledger's read
	// models (its events moved away) drops them. Events restored under them
	// by hand, or a log whose files were deleted, are caught when the read
	// models are opened: the read models witness events the log does not
	// hold (acknowledged events lost, or a log replaced), so serve and
	// billing refuse to start and verify fails, each saying what to do, and
	// the read models are left as they are; replay rebuilds them from the
	// log, after which billing reports the log's ledger, as it does in a
	// fresh directory.
	ctx := context.Background()
	big, small := t.TempDir(), t.TempDir()
	seedLedger(t, big, genCalls(7, 300))
	seedLedger(t, small, genCalls(8, 100))
	for _, dir := range []string{big, small} {
		res := runTool(ctx, t, dir, "", "replay")
		require.Equal(t, 0, res.code, res.stderr)
	}
	want := runTool(ctx, t, small, "", "billing", "--format", "csv")
	require.Equal(t, 0, want.code, want.stderr)
	file := filepath.Join(t.TempDir(), "small.jsonl")
	res := runTool(ctx, t, small, "", "export", "--out", file)
	require.Equal(t, 0, res.code, res.stderr)

	withBigReadModels := func(t *testing.T) string {
		dir := t.TempDir()
		require.NoError(t, os.CopyFS(filepath.Join(dir, "readmodels"), os.DirFS(filepath.Join(big, "readmodels"))))
		return dir
	}
	t.Run("import", func(t *testing.T) {
		dir := withBigReadModels(t)
		res := runTool(ctx, t, dir, "", "import", "--in", file)
		require.Equal(t, 0, res.code, res.stderr)
		assert.NoDirExists(t, filepath.Join(dir, "readmodels"), "the previous ledger's read models are gone")
		got := runTool(ctx, t, dir, "", "billing", "--format", "csv")
		require.Equal(t, 0, got.code, got.stderr)
		assert.Equal(t, want.stdout, got.stdout)
	})
	for _, tc := range []struct {
		name   string
		events func(t *testing.T, dir string) // puts the log under the big ledger's read models
		want   string                         // the billing it then reports
	}{
		{"events restored by hand", func(t *testing.T, dir string) {
			require.NoError(t, os.CopyFS(filepath.Join(dir, "events"), os.DirFS(filepath.Join(small, "events"))))
		}, want.stdout},
		{"events' files deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "events"), 0o755))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := withBigReadModels(t)
			tc.events(t, dir)
			for _, args := range [][]string{{"billing", "--format", "csv"}, {"serve", "--addr", "127.0.0.1:0"}, {"verify"}, {"verify"}} {
				// A serve that started would run until stopped: it is
				// stopped after a while, to fail rather than hang.
				runCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
				got := runTool(runCtx, t, dir, "", args...)
				cancel()
				assert.Equal(t, 1, got.code, "%s: %s", args[0], got.stderr)
				assert.Contains(t, got.stdout+got.stderr, "the event log does not hold events the read models were built from", args[0])
				assert.Contains(t, got.stdout+got.stderr, "callledger replay", args[0])
				if args[0] == "verify" {
					assert.Contains(t, got.stdout, "FAILED: ", "verify fails, every time: the read models are left as they were")
				}
			}
			res := runTool(ctx, t, dir, "", "replay")
			require.Equal(t, 0, res.code, res.stderr)
			got := runTool(ctx, t, dir, "", "billing", "--format", "csv")
			require.Equal(t, 0, got.code, got.stderr)
			if tc.want != "" {
				assert.Equal(t, tc.want, got.stdout)
			}
			res = runTool(ctx, t, dir, "", "verify")
			assert.Equal(t, 0, res.code, res.stdout+res.stderr)
		})
	}
}

func TestImportEstimatesItsTotal(t *testing.T) {
	// Goal: an import from a file knows roughly how many events it holds
	// (for the meter's ETA), from the share of the file read so far; from
	// stdin, or before anything is read, it does not.
	for _, tc := range []struct {
		name       string
		done       uint64
		read, size int64
		want       uint64
	}{
		{"a quarter read", 250, 1 << 20, 4 << 20, 1000},
		{"all read", 1000, 4 << 20, 4 << 20, 1000},
		{"stdin", 250, 1 << 20, 0, 0},
		{"nothing read yet", 0, 0, 4 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, estimateTotal(tc.done, tc.read, tc.size))
		})
	}
}

// TestInterruptedToolSaysSo checks that a tool stopped by a signal (its
// context ended) says it was interrupted, where it printed what it was
// doing as if that had failed ("check index: context canceled").
func TestInterruptedToolSaysSo(t *testing.T) {
	dataDir := t.TempDir()
	seedLedger(t, dataDir, genCalls(41, 20))
	for _, args := range [][]string{{"verify"}, {"billing"}, {"export", "--out", filepath.Join(t.TempDir(), "x.jsonl")}} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			res := runTool(ctx, t, dataDir, "", args...)
			assert.Equal(t, 1, res.code, "%s", res.stderr)
			assert.Contains(t, res.stderr, "callledger "+args[0]+": interrupted, not finished (")
		})
	}
}

func TestDataDirectoriesAreOwnerOnly(t *testing.T) {
	// Goal: the directories callledger creates for its data (the data
	// directory, events/, readmodels/) are readable by their owner only:
	// Pebble writes its files 0644, so 0755 directories let every user of
	// the machine read the calls' numbers.
	ctx := context.Background()
	src := t.TempDir()
	seedLedger(t, src, genCalls(13, 10))
	file := filepath.Join(t.TempDir(), "x.jsonl")
	res := runTool(ctx, t, src, "", "export", "--out", file)
	require.Equal(t, 0, res.code, res.stderr)

	dir := filepath.Join(t.TempDir(), "new", "data")
	res = runTool(ctx, t, dir, "", "import", "--in", file)
	require.Equal(t, 0, res.code, res.stderr)
	res = runTool(ctx, t, dir, "", "replay")
	require.Equal(t, 0, res.code, res.stderr)
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Join(dir, "events"), filepath.Join(dir, "readmodels")} {
		info, err := os.Stat(d)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), d)
	}
}

func TestMalformedStoreIsAUsageError(t *testing.T) {
	// Goal: a --store the KurrentDB client cannot parse is refused as the
	// flag's value (exit 2, naming the flag, the password masked), by
	// every command, before anything is opened or created.
	ctx := context.Background()
	for _, cmd := range []string{"verify", "billing", "export", "serve"} {
		for _, store := range []string{"garbage", "esdb://admin:SECRETPW@[bad", "esdb://localhost:2113?tls=maybe",
			"esdb://admin:SECRETPW@127.0.0.1:99999?tls=false", "esdb://127.0.0.1:0", "esdb://a:2113,b:-1", "esdb://admin:SECRETPW@localhost:2113?tsl=false"} {
			dir := filepath.Join(t.TempDir(), "data")
			res := runTool(ctx, t, dir, "", cmd, "--store", store)
			assert.Equal(t, 2, res.code, "%s --store %s: %s", cmd, store, res.stderr)
			assert.Contains(t, res.stderr, "-store", cmd)
			assert.NotContains(t, res.stderr, "SECRET", cmd)
			assert.NoDirExists(t, dir, "nothing created")
		}
	}
}

func TestBillingOfAForgedCurrency(t *testing.T) {
	// Goal: a price whose currency no build writes (not three upper-case
	// letters: an archive edited by hand) is a broken invariant that
	// verify reports and billing counts as a read-model failure (exit 1),
	// where both passed it as whole, "usd" splitting the dollars in two
	// rows; billing's CSV writes such a currency as text, never a formula.
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	priced := func(currency string) []domain.Price {
		return []domain.Price{{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal("0.10"), Currency: currency}}
	}
	formula := `=HYPERLINK("http://evil.example/","USD")`
	seedLedger(t, dir, []*genCall{
		{id: uuid.New(), account: "acme", provider: "twilio", start: start, prices: priced("USD")},
		{id: uuid.New(), account: "acme", provider: "twilio", start: start, prices: priced("usd")},
		{id: uuid.New(), account: "acme", provider: "twilio", start: start, prices: priced(formula)},
	})

	res := runTool(ctx, t, dir, "", "verify")
	assert.Equal(t, 1, res.code, res.stdout)
	assert.Contains(t, res.stdout, "FAILED: 2 events of the log could not be applied to the read models")
	assert.Contains(t, res.stdout, `currency "usd" is not three upper-case letters`)

	res = runTool(ctx, t, dir, "", "billing", "--format", "csv")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the totals above may leave calls out")
	rows, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	require.NoError(t, err)
	var currencies []string
	for _, r := range rows[1:] {
		currencies = append(currencies, r[2])
	}
	assert.ElementsMatch(t, []string{"USD", "usd", "'" + formula}, currencies, "billed as it reads, the formula as text")
}
