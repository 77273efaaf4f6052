package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
)

// Defaults of the settings every command shares.
const (
	defaultDataDir = "./data"
	defaultAddr    = "127.0.0.1:8080"
)

// storeConfig says where the ledger lives: a data directory for everything
// local, and optionally a KurrentDB connection string for the event log.
type storeConfig struct {
	// DataDir holds the embedded event store (DataDir/events), the read
	// models (DataDir/readmodels) and the generated API key file.
	DataDir string
	// StoreURL selects KurrentDB (esdb://, esdb+discover://) for the event
	// log; empty means the embedded store in DataDir/events.
	StoreURL string
}

// register adds --data and --store to fs, with defaults from the environment
// (CALLLEDGER_DATA, CALLLEDGER_STORE).
func (c *storeConfig) register(fs *flag.FlagSet, getenv func(string) string) {
	nonEmptyStringVar(fs, &c.DataDir, "data", envOr(getenv, "CALLLEDGER_DATA", defaultDataDir),
		"name a directory (\".\" for the current one), or leave the flag out for "+defaultDataDir+" or $CALLLEDGER_DATA",
		"data `directory` (env CALLLEDGER_DATA)")
	fs.StringVar(&c.StoreURL, "store", getenv("CALLLEDGER_STORE"), "KurrentDB connection string, e.g. 'esdb://localhost:2113?tls=false' (env CALLLEDGER_STORE); empty: the embedded store in the data directory")
}

// EventsDir is where the embedded event store keeps its files.
func (c storeConfig) EventsDir() string { return filepath.Join(c.DataDir, "events") }

// ReadModelsDir is where the projections keep their read models.
func (c storeConfig) ReadModelsDir() string { return filepath.Join(c.DataDir, "readmodels") }

func envOr(getenv func(string) string, key, fallback string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return fallback
}

// envInt reads the environment variable key as a whole number: 0 when it
// is unset or empty, an error naming it when it is not a number.
func envInt(getenv func(string) string, key string) (int, error) {
	v := getenv(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a whole number", key, v)
	}
	return n, nil
}
