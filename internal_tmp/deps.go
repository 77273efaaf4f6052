package deps

import (
	_ "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	_ "github.com/cockroachdb/pebble/v2"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/google/uuid"
	_ "github.com/shopspring/decimal"
	_ "github.com/stretchr/testify/require"
	_ "google.golang.org/grpc"
)
