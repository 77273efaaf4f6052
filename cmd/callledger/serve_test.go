package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/projections"
)

// newTestEnv returns an Env over buffers whose Getenv reads vars only.
func newTestEnv(vars map[string]string) (Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] },
	}, &stdout, &stderr
}

// startMain runs serve on dir and an ephemeral loopback port, and closes it
// when the test ends (unless the test closed it first). It returns serve's
// stdout and stderr with it.
func startMain(t *testing.T, dir string, vars map[string]string) (*Main, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	env, stdout, stderr := newTestEnv(vars)
	m := NewMain(env)
	require.NoError(t, m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0"}))
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() { m.Close() }) // a second Close returns the first's result
	return m, stdout, stderr
}

func do(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	code, b, _ := roundTrip(t, req)
	return code, b
}

// roundTrip sends req with the default client and reads the whole answer:
// its status, body and headers.
func roundTrip(t *testing.T, req *http.Request) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b, resp.Header
}

const seedUpsert = `{
  "direction": "incoming",
  "participants": [{"phone": "+14155551212", "role": "caller"}, {"phone": "+16505551212", "role": "callee"}],
  "provider": "openphone", "provider_id": "openphone_id_000000000006", "provider_status": "completed",
  "start_at": "2025-02-17T15:00:00.000Z", "answered_at": "2025-02-17T15:01:00Z", "end_at": "2025-02-17T15:30:00.000Z",
  "provider_metadata": {"answered_by": "UShjUatqtF"}
}`

// TestServeGeneratesKeyAndServes checks the first-start experience the
// README promises: no configuration, a key is created, printed once and
// stored, the API answers with it, data survives a restart, and the key is
// not printed again.
func TestServeGeneratesKeyAndServes(t *testing.T) {
	dir := t.TempDir()
	m, stdout, _ := startMain(t, dir, nil)

	stored, err := os.ReadFile(filepath.Join(dir, generatedKeysFile))
	require.NoError(t, err)
	entry := strings.TrimSpace(string(stored))
	assert.Contains(t, stdout.String(), entry, "the generated key is shown on first start")
	account, token, ok := strings.Cut(entry, ":")
	require.True(t, ok)
	require.NotEmpty(t, account)

	code, _ := do(t, "GET", m.URL()+"/healthz", "", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = do(t, "GET", m.URL()+"/readyz", "", "")
	assert.Equal(t, http.StatusOK, code)

	code, body := do(t, "POST", m.URL()+"/calls/upsert", token, seedUpsert)
	require.Equal(t, http.StatusOK, code, string(body))
	var call struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &call))

	code, _ = do(t, "POST", m.URL()+"/calls/upsert", "wrong-token", seedUpsert)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, metrics := do(t, "GET", m.URL()+"/metrics", "", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(metrics), `callledger_http_requests_total{code="200",method="POST",route="/calls/upsert"} 1`)
	require.NoError(t, m.Close())

	// Restart on the same data: the call is there, the key is reused
	// and not printed again.
	m2, stdout2, _ := startMain(t, dir, nil)
	defer m2.Close()
	assert.NotContains(t, stdout2.String(), token)
	code, body = do(t, "GET", m2.URL()+"/calls/"+call.ID, token, "")
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Contains(t, string(body), `"provider_id":"openphone_id_000000000006"`)
	code, body = do(t, "GET", m2.URL()+"/v1/calls/"+call.ID, token, "")
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Contains(t, string(body), `"status":"completed"`)
}

// TestServeConfiguredKeys checks CALLLEDGER_API_KEYS and --api-keys-file:
// configured keys are used, none is generated, and each account sees only
// its own calls.
func TestServeConfiguredKeys(t *testing.T) {
	dir := t.TempDir()
	keysFile := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(keysFile, []byte("acct-b:token-b-0123456789abcdef\n"), 0o600))
	env, _, _ := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"})
	m := NewMain(env)
	require.NoError(t, m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0", "--api-keys-file", keysFile}))
	require.NoError(t, m.Run(context.Background()))
	defer m.Close()

	_, err := os.Stat(filepath.Join(dir, generatedKeysFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "no key is generated when keys are configured")

	code, body := do(t, "POST", m.URL()+"/calls/upsert", "token-a-0123456789abcdef", seedUpsert)
	require.Equal(t, http.StatusOK, code, string(body))
	var call struct {
		ID string `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &call))
	code, _ = do(t, "GET", m.URL()+"/calls/"+call.ID, "token-b-0123456789abcdef", "")
	assert.Equal(t, http.StatusNotFound, code, "another account's call is a 404")
}

// TestRunUsage checks the exit codes of the dispatcher.
func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"NoCommand", nil, 2},
		{"Help", []string{"help"}, 0},
		{"Unknown", []string{"frobnicate"}, 2},
		{"BadFlag", []string{"serve", "--no-such-flag"}, 2},
		{"ExtraArgs", []string{"serve", "extra"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := newTestEnv(nil)
			assert.Equal(t, tt.code, run(context.Background(), tt.args, env))
		})
	}
}

func TestServeReadsAfterStartWithBacklog(t *testing.T) {
	// Goal: serve started over a log its read models have not caught up
	// with (an import into a new directory, read models deleted) answers
	// no read from them before they reach where the log ended at start: a
	// call at the log's end is found, not a 404, and billing sums every
	// call, not the part projected so far. The projector is held back
	// until the read has been seen waiting, so that the test does not pass
	// by a projector that won the race.
	dir := t.TempDir()
	calls := genCalls(9, 2000)
	seedLedger(t, dir, calls)
	last := genCalls(10, 1)[0] // appended after every other: the log's end
	last.account = "acme"
	seedLedger(t, dir, []*genCall{last})
	calls = append(calls, last)

	const token = "token-acme-0123456789abcdef"
	env, _, _ := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acme:" + token})
	m := NewMain(env)
	require.NoError(t, m.ParseFlags([]string{"--data", dir, "--addr", "127.0.0.1:0"}))
	release := make(chan struct{})
	m.runProjector = func(ctx context.Context, p *projections.Projector) error {
		select {
		case <-release:
		case <-ctx.Done():
			return nil
		}
		return p.Run(ctx)
	}
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() { m.Close() })

	type answer struct {
		code int
		body []byte
		err  error
	}
	read := make(chan answer, 1)
	go func() { // not the test's goroutine: no require here
		req, err := http.NewRequest("GET", m.URL()+"/v1/calls/"+last.id.String(), nil)
		if err != nil {
			read <- answer{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			read <- answer{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		read <- answer{res.StatusCode, body, err}
	}()
	select {
	case a := <-read:
		t.Fatalf("the read was answered (%d %s, %v) before the read models reached the log's end", a.code, a.body, a.err)
	case <-time.After(300 * time.Millisecond): // well inside the read's wait (api.DefaultWaitTimeout)
	}
	assert.True(t, m.ledger.Projector.Status().Checkpoint.IsStart(), "the read models were held at the start")
	close(release)
	a := <-read
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.code, "the read waited, then found the call: %s", a.body)

	code, body := do(t, "GET", m.URL()+"/v1/billing/summary?group_by=account,provider,currency,day", token, "")
	require.Equal(t, http.StatusOK, code, string(body))
	var summary struct {
		Groups []struct{ Account, Provider, Currency, Day, Total string }
	}
	require.NoError(t, json.Unmarshal(body, &summary))
	wantTotals, _, _ := expectedBilling(calls, time.Time{}, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	want := map[billingKey]string{}
	for k, v := range wantTotals {
		if k.account == "acme" && !v.IsZero() {
			want[k] = v.String()
		}
	}
	got := map[billingKey]string{}
	for _, g := range summary.Groups {
		if total := decimal.RequireFromString(g.Total); !total.IsZero() {
			got[billingKey{g.Account, g.Provider, g.Currency, g.Day}] = total.String()
		}
	}
	assert.Equal(t, want, got, "every acme call's current price, summed")
}

func TestServeRefusesKeySourcesWithoutKeys(t *testing.T) {
	// Goal: a key source that is configured but holds no key is refused at
	// start (exit 1), with an error naming it, rather than falling back to
	// the generated key: neither a key file emptied to revoke its keys nor
	// a CALLLEDGER_API_KEYS of blanks and commas re-enables the key in
	// <data>/api-keys, and no key is created or printed.
	const revoked = "acct-old:token-old-0123456789abcdef\n"
	cases := []struct {
		name      string
		vars      map[string]string
		keysFile  string // the --api-keys-file's content; "" for no flag
		generated string // <data>/api-keys from an earlier start; "" for none
		wantErr   string
	}{
		{"EnvOfSeparators", map[string]string{"CALLLEDGER_API_KEYS": " , "}, "", "", "CALLLEDGER_API_KEYS is set but holds no key"},
		{"EnvOfSeparatorsBesideAGeneratedKey", map[string]string{"CALLLEDGER_API_KEYS": " , "}, "", revoked, "CALLLEDGER_API_KEYS is set but holds no key"},
		{"FileOfComments", nil, "# every key revoked\n\n   \n# acct-old:token-old\n", revoked, "holds no key, only blank lines or comments"},
		{"EmptyFile", nil, "\n", "", "holds no key, only blank lines or comments"},
		{"EmptyFileBesideAGoodEnv", map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"}, "\n", "", "holds no key, only blank lines or comments"},
		{"GeneratedFileEmptied", nil, "", "\n", generatedKeysFile + " holds no key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			generated := filepath.Join(dir, generatedKeysFile)
			if tc.generated != "" {
				require.NoError(t, os.WriteFile(generated, []byte(tc.generated), 0o600))
			}
			args := []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}
			if tc.keysFile != "" {
				keysFile := filepath.Join(t.TempDir(), "keys")
				require.NoError(t, os.WriteFile(keysFile, []byte(tc.keysFile), 0o600))
				args = append(args, "--api-keys-file", keysFile)
			}
			env, stdout, stderr := newTestEnv(tc.vars)
			// A serve that started would run until ctx ends: the timeout
			// turns that into a failure rather than a hang.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.Equal(t, 1, run(ctx, args, env), "stderr: %s", stderr)
			assert.Contains(t, stderr.String(), tc.wantErr)
			assert.NotContains(t, stdout.String(), "No API key was configured")
			if tc.generated == "" {
				assert.NoFileExists(t, generated, "no key is created")
			}
		})
	}
}

func TestEmptyPathFlagsAreRefused(t *testing.T) {
	// Goal: a path (or address) flag given empty, most often a shell
	// variable that expanded to nothing, is refused as a usage error naming
	// the flag, in every command, rather than quietly meaning something
	// else: the current directory for --data, every interface on a random
	// port for --addr, the store instead of the file for verify --in,
	// stdin or stdout for --in and --out. Nothing is created in the
	// current directory.
	cases := []struct {
		name string
		args []string
		flag string
	}{
		{"serve data", []string{"serve", "--data", "", "--addr", "127.0.0.1:0"}, "data"},
		{"serve addr", []string{"serve", "--addr", ""}, "addr"},
		{"serve api keys file", []string{"serve", "--addr", "127.0.0.1:0", "--api-keys-file", ""}, "api-keys-file"},
		{"verify data", []string{"verify", "--data="}, "data"},
		{"verify in", []string{"verify", "--in", ""}, "in"},
		{"export out", []string{"export", "--out", ""}, "out"},
		{"import in", []string{"import", "--in", ""}, "in"},
		{"history data", []string{"history", "--data", "", "cb95b335-9e56-59e9-81f8-aa8ce5904c33"}, "data"},
		{"replay data", []string{"replay", "--data", ""}, "data"},
		{"billing data", []string{"billing", "--data", ""}, "data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			env, stdout, stderr := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"})
			// A serve that started would run until ctx ends: the timeout
			// turns that into a failure rather than a hang.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.Equal(t, 2, run(ctx, tc.args, env), "a usage error; stdout: %s", stdout)
			assert.Contains(t, stderr.String(), `invalid value "" for flag -`+tc.flag+`: is empty`)
			entries, err := os.ReadDir(cwd)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is created in the current directory")
		})
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	// Goal: every command answers a command line it cannot run (a flag it
	// does not have, a value its flag refuses, a missing or extra argument,
	// flags that exclude each other) with exit 2 and a line naming the
	// problem, before it opens anything; exit 1 is for work that failed.
	cases := []struct {
		args []string
		want string
		// usage: the command's flags are listed, for -h and a flag it
		// does not have; a value refused is one line.
		usage bool
	}{
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus", true},
		{[]string{"serve", "--data="}, `invalid value "" for flag -data: is empty`, false},
		{[]string{"billing", "--account="}, `invalid value "" for flag -account: is empty`, false},
		{[]string{"history", "--data", "", "cb95b335-9e56-59e9-81f8-aa8ce5904c33"}, `invalid value "" for flag -data: is empty`, false},
		{[]string{"history", "--bogus", "x"}, "usage: callledger history [flags] <call-id>", true},
		{[]string{"serve", "extra"}, "unexpected arguments: extra", false},
		{[]string{"serve", "--addr", "127.0.0.1"}, `--addr "127.0.0.1": missing port in address`, false},
		{[]string{"serve", "--addr", "127.0.0.1:99999"}, `--addr "127.0.0.1:99999": port 99999 is not a TCP port (0 to 65535)`, false},
		{[]string{"serve", "--addr", ":no-such-service"}, `--addr ":no-such-service"`, false},
		{[]string{"verify", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"verify", "--in", "f", "--data", "d"}, "--in verifies an export file and opens no store", false},
		{[]string{"history"}, "want exactly one call id", false},
		{[]string{"history", "--bogus", "cb95b335-9e56-59e9-81f8-aa8ce5904c33"}, "flag provided but not defined: -bogus", false},
		{[]string{"history", "not-a-uuid"}, "not-a-uuid", false},
		{[]string{"export", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"export", "extra"}, `unexpected argument "extra"`, false},
		{[]string{"import", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"replay", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"billing", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"billing", "--format", "xml"}, `--format "xml"`, false},
		{[]string{"billing", "--scale", "19"}, "scale", false},
		{[]string{"billing", "--from", "2025-02-01", "--to", "2025-01-01"}, "to", false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			env, stdout, stderr := newTestEnv(map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.Equal(t, 2, run(ctx, tc.args, env), "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stderr.String(), tc.want)
			if tc.usage {
				assert.Contains(t, stderr.String(), "  -data directory", "the usage is listed")
			} else if strings.Contains(tc.want, "invalid value") {
				assert.NotContains(t, stderr.String(), "-data directory", "no usage for a value refused")
				assert.Equal(t, 1, strings.Count(stderr.String(), tc.want), "the error once")
			}
			entries, err := os.ReadDir(cwd)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is created in the current directory")
		})
	}
}

func TestServeThatDoesNotStart(t *testing.T) {
	// Goal: a serve that cannot start (its address taken, its data
	// directory held by a running serve, a malformed key, keys that clash
	// across sources, an idempotency table that cannot be opened) fails
	// with exit 1 naming the cause, never logs "callledger stopped" (it
	// never started), and creates and prints no API key: a first start on
	// a taken port, or whose API server fails to build, leaves the data
	// directory without one.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	held := t.TempDir()
	startMain(t, held, map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"})

	// An idempotency directory that is a file: Pebble cannot open it,
	// after the ledger opened and the address was bound.
	noIdempotency := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(noIdempotency, "idempotency"), []byte("not a directory"), 0o600))
	// An event log whose CURRENT file is garbage: Pebble refuses it.
	badLog := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(badLog, "events"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(badLog, "events", "CURRENT"), []byte("garbage\n"), 0o600))
	keysFile := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(keysFile, []byte("acct-b:token-a-0123456789abcdef\n"), 0o600))

	cases := []struct {
		name    string
		dir     string
		addr    string
		vars    map[string]string
		args    []string
		wantErr string
	}{
		{"AddressInUse", t.TempDir(), busy.Addr().String(), nil, nil, "listen on " + busy.Addr().String()},
		// In one process Pebble says "lock held by current process"; from
		// another, what openError names "in use by another process".
		{"DataDirectoryInUse", held, "127.0.0.1:0", nil, nil, "open embedded store"},
		{"MalformedKey", t.TempDir(), "127.0.0.1:0", map[string]string{"CALLLEDGER_API_KEYS": "no-colon"}, nil, "CALLLEDGER_API_KEYS: api key entry without ':'"},
		{"OneTokenInTwoSources", t.TempDir(), "127.0.0.1:0", map[string]string{"CALLLEDGER_API_KEYS": "acct-a:token-a-0123456789abcdef"},
			[]string{"--api-keys-file", keysFile}, "CALLLEDGER_API_KEYS and --api-keys-file together: api key token of account \"acct-b\" is used twice"},
		// A store Pebble refuses is named once, by the store's own error
		// (cmd used to say "open embedded store: open embedded store ...").
		{"EventLogUnopenable", badLog, "127.0.0.1:0", nil, nil, "open embedded store " + filepath.Join(badLog, "events") + ": "},
		{"IdempotencyTableUnopenable", noIdempotency, "127.0.0.1:0", nil, nil, "open idempotency table " + filepath.Join(noIdempotency, "idempotency")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := newTestEnv(tc.vars)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"serve", "--data", tc.dir, "--addr", tc.addr}, tc.args...)
			assert.Equal(t, 1, run(ctx, args, env), "stderr: %s", stderr)
			assert.Contains(t, stderr.String(), tc.wantErr)
			assert.LessOrEqual(t, strings.Count(stderr.String(), "open embedded store"), 1, "the store is named once: %s", stderr)
			assert.NotContains(t, stderr.String(), "callledger stopped")
			assert.NotContains(t, stdout.String(), "No API key was configured")
			assert.NoFileExists(t, filepath.Join(tc.dir, generatedKeysFile))
		})
	}

	t.Run("Started", func(t *testing.T) {
		m, _, stderr := startMain(t, t.TempDir(), nil)
		require.NoError(t, m.Close())
		assert.Contains(t, stderr.String(), "callledger stopped", "a serve that served says it stopped")
	})
}

// TestServeAndAnUnfinishedImport checks what serve does with the
// directory a killed import left in the data directory: where the data
// directory holds no event store, it refuses to start (exit 1) naming it
// and what to do, creating nothing, where it served an empty ledger, ready
// (a crash probe restarted serve after a killed import and got one); beside
// an event store, it names it and serves the store as it is.
func TestDanglingKeyFileLinkIsNamed(t *testing.T) {
	// Goal: a data directory whose api-keys is a symbolic link to a file
	// that is gone is refused at start (exit 1) naming the link and its
	// target, before anything is opened, where serve opened the ledger and
	// then failed to store a new key with "file exists" (a security probe).
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges")
	}
	dir := t.TempDir()
	gone := filepath.Join(t.TempDir(), "keys-elsewhere")
	require.NoError(t, os.Symlink(gone, filepath.Join(dir, generatedKeysFile)))
	env, stdout, stderr := newTestEnv(nil)
	code := run(context.Background(), []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, env)
	assert.Equal(t, 1, code, "stderr: %s", stderr)
	assert.Contains(t, stderr.String(), "is a symbolic link to "+gone+", which does not exist")
	assert.NotContains(t, stderr.String(), "file exists")
	assert.NotContains(t, stdout.String(), "No API key was configured")
}

func TestServeAndAnUnfinishedImport(t *testing.T) {
	t.Run("NoEventStore", func(t *testing.T) {
		dir := t.TempDir()
		left := filepath.Join(dir, "events.import-1234")
		require.NoError(t, os.MkdirAll(left, 0o755))
		env, _, stderr := newTestEnv(nil)
		code := run(context.Background(), []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, env)
		assert.Equal(t, 1, code, "stderr: %s", stderr)
		assert.Contains(t, stderr.String(), "did not finish")
		assert.Contains(t, stderr.String(), left)
		assert.Contains(t, stderr.String(), "run the import again")
		assert.NoDirExists(t, filepath.Join(dir, "events"))
		assert.NoDirExists(t, filepath.Join(dir, "readmodels"))
	})
	t.Run("BesideAnEventStore", func(t *testing.T) {
		dir := t.TempDir()
		m, _, _ := startMain(t, dir, nil) // the ledger first
		require.NoError(t, m.Close())
		left := filepath.Join(dir, "events.import-1234")
		require.NoError(t, os.MkdirAll(left, 0o755))
		m, _, stderr := startMain(t, dir, nil)
		assert.Contains(t, stderr.String(), "did not finish")
		assert.Contains(t, stderr.String(), left)
		code, _ := do(t, "GET", m.URL()+"/readyz", "", "")
		assert.Equal(t, http.StatusOK, code)
	})
}

func TestShortTokensAreWarnedOf(t *testing.T) {
	// Goal: serve warns of tokens shorter than 16 characters, naming their
	// accounts and never the tokens (a security probe: the events' actor is
	// a hash prefix of the token, which a guessable one can be found from),
	// and uses them all the same; long tokens are used without a warning.
	for _, tc := range []struct {
		name, keys string
		warn       bool
	}{
		{"short", "acct-long:token-0123456789abcdef,acct-short:hunter2", true},
		{"long", "acct-long:token-0123456789abcdef", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, stderr := startMain(t, t.TempDir(), map[string]string{"CALLLEDGER_API_KEYS": tc.keys})
			if tc.warn {
				assert.Contains(t, stderr.String(), "API key tokens shorter than 16 characters")
				assert.Contains(t, stderr.String(), "accounts=acct-short")
				assert.NotContains(t, stderr.String(), "hunter2")
				assert.NotContains(t, stderr.String(), "acct-long")
				code, _ := do(t, "GET", m.URL()+"/calls", "hunter2", "")
				assert.Equal(t, http.StatusOK, code, "the short token is used")
			} else {
				assert.NotContains(t, stderr.String(), "shorter than")
			}
		})
	}
}

func TestLooseKeyFileIsWarnedOf(t *testing.T) {
	// Goal: a keys file other users can read is used, with a warning
	// naming it and its mode (its tokens are the accounts' passwords); one
	// only its owner can read is used without one.
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits")
	}
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o644, true}, {0o600, false}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "keys")
			require.NoError(t, os.WriteFile(file, []byte("acct-w:token-w-0123456789abcdef\n"), tc.mode))
			require.NoError(t, os.Chmod(file, tc.mode)) // whatever the umask
			_, _, stderr := startMain(t, t.TempDir(), map[string]string{"CALLLEDGER_API_KEYS_FILE": file})
			if tc.warn {
				assert.Contains(t, stderr.String(), "the API keys file can be read or written by other users")
				assert.Contains(t, stderr.String(), "0644")
			} else {
				assert.NotContains(t, stderr.String(), "other users")
			}
		})
	}
}
