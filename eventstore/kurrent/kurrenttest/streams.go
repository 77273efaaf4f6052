package kurrenttest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// nodeIDText identifies the node in gossip.
const nodeIDText = "6b1f6c9e-7c0e-4a39-9f0b-4c1d3a2b1e01"

// checkpointEventsDefault is how many events a filtered subscription
// examines between checkpoints when the client asks for no window.
const checkpointEventsDefault = 32

// streamsService implements Streams.Append and Streams.Read.
type streamsService struct {
	api.UnimplementedStreamsServer
	log   *memLog
	reads *allReads
}

// Append reads an options message then the proposed events, and answers
// Success or WrongExpectedVersion as KurrentDB does.
func (s *streamsService) Append(call api.Streams_AppendServer) error {
	first, err := call.Recv()
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "append: no options: %v", err)
	}
	opts := first.GetOptions()
	if opts == nil || len(opts.GetStreamIdentifier().GetStreamName()) == 0 {
		return status.Error(codes.InvalidArgument, "append: the first message must carry the options and a stream")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	exp, err := expectationFromProto(opts)
	if err != nil {
		return err
	}

	var events []proposed
	size := 0
	for {
		msg, err := call.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := msg.GetProposedMessage()
		if m == nil {
			return status.Error(codes.InvalidArgument, "append: expected a proposed message")
		}
		e, err := proposedFromProto(m)
		if err != nil {
			return err
		}
		size += len(e.data) + len(e.custom) + 2*len(e.typ) // KurrentDB's Event.SizeOnDisk
		events = append(events, e)
	}
	if size > appendBytesMax {
		call.SetTrailer(metadata.Pairs("exception", "maximum-append-size-exceeded", "maximum-append-size", fmt.Sprint(appendBytesMax)))
		return status.Errorf(codes.InvalidArgument, "Maximum Append Size of %d Exceeded.", appendBytesMax)
	}
	if len(events) == 0 {
		return status.Error(codes.InvalidArgument, "append: no events (not supported by the protocol test server)")
	}

	out := s.log.append(stream, exp, events)
	if out.ok {
		return call.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
			CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: out.lastRevision},
			PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
				CommitPosition:  out.lastPosition.commit,
				PreparePosition: out.lastPosition.prepare,
			}},
		}}})
	}
	return call.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{
		WrongExpectedVersion: wrongExpectedVersion(out, exp),
	}})
}

// wrongExpectedVersion fills both the current fields and the 20.6.0 ones,
// as KurrentDB does for older clients.
func wrongExpectedVersion(out appendOutcome, exp expectation) *api.AppendResp_WrongExpectedVersion {
	w := &api.AppendResp_WrongExpectedVersion{}
	if out.exists {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: out.current}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: out.current}
	} else {
		w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	}
	switch exp.kind {
	case expectRevision:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.revision}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.revision}
	case expectNoStream:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return w
}

func expectationFromProto(opts *api.AppendReq_Options) (expectation, error) {
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		return expectation{kind: expectAny}, nil
	case *api.AppendReq_Options_NoStream:
		return expectation{kind: expectNoStream}, nil
	case *api.AppendReq_Options_StreamExists:
		return expectation{kind: expectStreamExists}, nil
	case *api.AppendReq_Options_Revision:
		return expectation{kind: expectRevision, revision: v.Revision}, nil
	default:
		return expectation{}, status.Error(codes.InvalidArgument, "append: no expected stream revision")
	}
}

// proposedFromProto checks a proposed event as KurrentDB does: an id, and
// the "type" and "content-type" system metadata.
func proposedFromProto(m *api.AppendReq_ProposedMessage) (proposed, error) {
	id, err := uuidFromProto(m.GetId())
	if err != nil {
		return proposed{}, status.Errorf(codes.InvalidArgument, "append: event id: %v", err)
	}
	typ, ok := m.GetMetadata()["type"]
	if !ok || typ == "" {
		return proposed{}, status.Error(codes.InvalidArgument, "append: event without a type")
	}
	content, ok := m.GetMetadata()["content-type"]
	if !ok {
		return proposed{}, status.Error(codes.InvalidArgument, "append: event without a content-type")
	}
	return proposed{id: id, typ: typ, content: content, data: m.GetData(), custom: m.GetCustomMetadata()}, nil
}

// Read serves reads of a stream, reads of $all and subscriptions to $all.
func (s *streamsService) Read(req *api.ReadReq, call api.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read: no options")
	}
	structured := opts.GetUuidOption().GetString_() == nil
	backwards := opts.GetReadDirection() == api.ReadReq_Options_Backwards
	filter, err := compileFilter(opts.GetFilter())
	if err != nil {
		return err
	}
	switch so := opts.GetStreamOption().(type) {
	case *api.ReadReq_Options_Stream:
		if opts.GetSubscription() != nil {
			return status.Error(codes.Unimplemented, "stream subscriptions are not implemented by the protocol test server")
		}
		return s.readStream(call, so.Stream, backwards, opts.GetCount(), structured)
	case *api.ReadReq_Options_All:
		if opts.GetSubscription() != nil {
			if backwards {
				return status.Error(codes.InvalidArgument, "subscriptions read forwards")
			}
			return s.subscribeAll(call, so.All, filter, structured)
		}
		return s.readAll(call, so.All, backwards, opts.GetCount(), filter, structured)
	default:
		return status.Error(codes.InvalidArgument, "read: no stream option")
	}
}

func (s *streamsService) readStream(call api.Streams_ReadServer, o *api.ReadReq_Options_StreamOptions, backwards bool, count uint64, structured bool) error {
	name := o.GetStreamIdentifier().GetStreamName()
	recs := s.log.streamRecords(string(name))
	if len(recs) == 0 {
		return call.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: name},
		}}})
	}
	last := uint64(len(recs) - 1)
	var selected []*record
	switch {
	case !backwards:
		from := uint64(len(recs)) // End: nothing to read forwards
		switch v := o.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Start:
			from = 0
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = min(v.Revision, uint64(len(recs)))
		}
		selected = recs[from:]
	default:
		from := last // End
		switch v := o.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Start:
			from = 0
		case *api.ReadReq_Options_StreamOptions_Revision:
			from = min(v.Revision, last)
		}
		selected = slices.Clone(recs[:from+1])
		slices.Reverse(selected)
	}
	return sendRecords(call, selected, count, nil, structured)
}

func (s *streamsService) readAll(call api.Streams_ReadServer, o *api.ReadReq_Options_AllOptions, backwards bool, count uint64, filter *eventFilter, structured bool) error {
	s.reads.count.Add(1)
	all := s.log.allSnapshot()
	if d := s.reads.delay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	var selected []*record
	if !backwards {
		from := len(all) // End
		switch v := o.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Start:
			from = 0
		case *api.ReadReq_Options_AllOptions_Position:
			p := pos{commit: v.Position.GetCommitPosition(), prepare: v.Position.GetPreparePosition()}
			from = firstIndex(all, func(r *record) bool { return r.position().compare(p) >= 0 })
		}
		selected = all[from:]
	} else {
		to := len(all) // End
		switch v := o.GetAllOption().(type) {
		case *api.ReadReq_Options_AllOptions_Start:
			to = 0
		case *api.ReadReq_Options_AllOptions_Position:
			p := pos{commit: v.Position.GetCommitPosition(), prepare: v.Position.GetPreparePosition()}
			to = firstIndex(all, func(r *record) bool { return r.position().compare(p) >= 0 })
		}
		selected = slices.Clone(all[:to])
		slices.Reverse(selected)
	}
	return sendRecords(call, selected, count, filter, structured)
}

// firstIndex returns the index of the first record of all for which ok
// holds, or len(all); ok must be monotonic over the $all order.
func firstIndex(all []*record, ok func(*record) bool) int {
	i, _ := slices.BinarySearchFunc(all, true, func(r *record, _ bool) int {
		if ok(r) {
			return 1
		}
		return -1
	})
	return i
}

func sendRecords(call api.Streams_ReadServer, recs []*record, count uint64, filter *eventFilter, structured bool) error {
	sent := uint64(0)
	for _, r := range recs {
		if sent >= count {
			break
		}
		if !filter.match(r) {
			continue
		}
		if err := call.Send(eventResp(r, structured)); err != nil {
			return err
		}
		sent++
	}
	return nil
}

// subscribeAll confirms the subscription, sends the events after the
// requested position (exclusive, as KurrentDB's catch-up subscriptions
// are), a checkpoint and CaughtUp, then each new event as it is written,
// until the client goes away or the server stops.
func (s *streamsService) subscribeAll(call api.Streams_ReadServer, o *api.ReadReq_Options_AllOptions, filter *eventFilter, structured bool) error {
	ctx := call.Context()
	all := s.log.allSnapshot()
	next := 0
	switch v := o.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_End:
		next = len(all)
	case *api.ReadReq_Options_AllOptions_Position:
		p := pos{commit: v.Position.GetCommitPosition(), prepare: v.Position.GetPreparePosition()}
		next = firstIndex(all, func(r *record) bool { return r.position().compare(p) > 0 })
	}
	if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	caughtUp := false
	examined := 0
	var lastExamined *record
	for {
		recs, changed := s.log.allFrom(next)
		for _, r := range recs {
			next++
			lastExamined = r
			if filter.match(r) {
				if err := call.Send(eventResp(r, structured)); err != nil {
					return err
				}
			}
			examined++
			if filter != nil && examined >= filter.checkpointEvents {
				examined = 0
				if err := call.Send(checkpointResp(r)); err != nil {
					return err
				}
			}
		}
		if !caughtUp {
			caughtUp = true
			if filter != nil && lastExamined != nil {
				if err := call.Send(checkpointResp(lastExamined)); err != nil {
					return err
				}
			}
			if err := call.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

func checkpointResp(r *record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
		CommitPosition: r.commit, PreparePosition: r.prepare,
	}}}
}

func eventResp(r *record, structured bool) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidProto(r.id, !structured),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.prepare,
			CommitPosition:   r.commit,
			Metadata:         r.metadata(),
			CustomMetadata:   r.custom,
			Data:             r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}

// eventFilter is a compiled server-side filter of a read or subscription.
// A nil *eventFilter matches everything.
type eventFilter struct {
	onType           bool // match the event type, else the stream id
	prefixes         []string
	regex            *regexp.Regexp
	checkpointEvents int
}

func compileFilter(o *api.ReadReq_Options_FilterOptions) (*eventFilter, error) {
	if o == nil {
		return nil, nil
	}
	f := &eventFilter{}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	switch v := o.GetFilter().(type) {
	case *api.ReadReq_Options_FilterOptions_EventType:
		f.onType, expr = true, v.EventType
	case *api.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr = v.StreamIdentifier
	default:
		return nil, status.Error(codes.InvalidArgument, "filter: no expression")
	}
	f.prefixes = expr.GetPrefix()
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "filter: regex: %v", err)
		}
		f.regex = re
	}
	window := checkpointEventsDefault
	if m := o.GetMax(); m > 0 {
		window = int(m)
	}
	f.checkpointEvents = window * int(max(o.GetCheckpointIntervalMultiplier(), 1))
	return f, nil
}

func (f *eventFilter) match(r *record) bool {
	if f == nil {
		return true
	}
	subject := r.stream
	if f.onType {
		subject = r.typ
	}
	if f.regex != nil && f.regex.MatchString(subject) {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}

func uuidFromProto(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(st.GetMostSignificantBits()))
		binary.BigEndian.PutUint64(b[8:], uint64(st.GetLeastSignificantBits()))
		return uuid.UUID(b), nil
	}
	if u.GetString_() != "" {
		return uuid.Parse(u.GetString_())
	}
	return uuid.Nil, errors.New("missing")
}

func uuidProto(id uuid.UUID, asString bool) *shared.UUID {
	if asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}
