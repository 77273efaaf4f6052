package main

import (
	"fmt"
	"io"
	"os"
)

// isStdStream reports whether name, given to --in or --out, names the
// standard stream rather than a file: nothing, or "-", the usual name for
// it. Import, verify --in and export all read it so, so that one spelling
// works for every tool.
func isStdStream(name string) bool {
	return name == "" || name == "-"
}

// input is an export to read, from a file or from stdin.
type input struct {
	r io.Reader
	// file is the file read when it is a regular one, which can be read
	// twice (rewound); nil for stdin, a pipe or a device.
	file *os.File
	// size is file's size in bytes, for the progress's estimate of the
	// events to come; 0 when file is nil.
	size int64
	// source names the input in messages: its path, or "stdin".
	source string
}

// openInput opens the file name names, or takes stdin when isStdStream(name),
// as import and verify --in read their export. closeIn releases what it opened
// (nothing for stdin). The error is os.Open's, unwrapped: each caller says
// what it could not do.
func openInput(name string, stdin io.Reader) (in input, closeIn func(), err error) {
	if isStdStream(name) {
		return input{r: stdin, source: "stdin"}, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return input{}, nil, err
	}
	in = input{r: f, source: name}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		in.file, in.size = f, fi.Size()
	}
	return in, func() { _ = f.Close() }, nil
}

// warnVersion1 warns on w that source, an export read whole, is in format
// version 1, which has no end marker, so nothing proves it was not cut short
// at a line boundary; consequence says what such a copy would have done
// ("imported as a shorter log without error"), for import and verify --in
// to give the same warning.
func warnVersion1(w io.Writer, source, consequence string) {
	fmt.Fprintf(w, "warning: %s is in export format version 1, which has no end marker: "+
		"a copy cut short at a line boundary would have %s; "+
		"compare the head hash with one kept elsewhere, or hold it to one (verify --in %s --kept-head position:hash)\n", source, consequence, source)
}
