package main

import (
	"io"
	"log/slog"
)

// newLogger is the logger of every command: text lines on w, from level
// up. An error attribute is written as its Error() text: slog writes any
// other value with %+v, which the errors of Pebble (cockroachdb/errors)
// fill with a stack trace of several KB, so that one damaged table read
// twice buried a tool's one-line diagnosis under pages of frames.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() != slog.KindAny {
				return a
			}
			if err, ok := a.Value.Any().(error); ok {
				a.Value = slog.StringValue(err.Error())
			}
			return a
		},
	}))
}
