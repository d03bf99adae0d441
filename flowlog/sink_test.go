package flowlog

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, r *Reader) []Record {
	t.Helper()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, rec)
	}
}

func goldenRecords(t *testing.T, g golden) (Format, []Record) {
	t.Helper()
	f, err := ParseFormat(g.format)
	require.NoError(t, err)
	var recs []Record
	for _, l := range g.lines {
		r, err := ParseRecord(f, l)
		require.NoError(t, err)
		recs = append(recs, r)
	}
	return f, recs
}

func TestFileSinkTextAndReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fl.log")
	f, recs := goldenRecords(t, goldenExamples[6])
	s, err := CreateFileSink(path, f, "")
	require.NoError(t, err)
	require.Equal(t, path, s.Path())
	require.NoError(t, s.Write(recs[:3]))
	require.NoError(t, s.Write(nil))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.ErrorContains(t, s.Write(recs), "write after close")

	// Reopening with the same format appends without a second header.
	s, err = CreateFileSink(path, f, EncodingText)
	require.NoError(t, err)
	require.NoError(t, s.Write(recs[3:]))
	require.NoError(t, s.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 1+len(recs))
	require.Equal(t, "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status", lines[0],
		"the header line is the field names, as S3 exports have it")
	require.Equal(t, goldenExamples[6].lines[0], lines[1])

	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	r := NewReader(file)
	require.Equal(t, recs, readAll(t, r))
	rf, ok := r.Format()
	require.True(t, ok)
	require.Equal(t, f, rf)

	// Another format cannot share the file.
	_, err = CreateFileSink(path, DefaultFormat(), EncodingText)
	require.ErrorContains(t, err, "starts with header \"version vpc-id")
	require.ErrorContains(t, err, "use another file")
}

func TestFileSinkJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fl.jsonl")
	f, recs := goldenRecords(t, goldenExamples[9])
	s, err := CreateFileSink(path, f, EncodingJSON)
	require.NoError(t, err)
	require.NoError(t, s.Write(recs))
	require.NoError(t, s.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), `{"version":5,"srcaddr":"52.95.128.179"`), string(data))
	require.Contains(t, string(data), `"sublocation-type":null`)

	r := NewReader(strings.NewReader(string(data)))
	require.Equal(t, recs, readAll(t, r))
}

func TestFileSinkErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := CreateFileSink(filepath.Join(dir, "a"), Format{}, EncodingText)
	require.ErrorContains(t, err, "no fields")
	_, err = CreateFileSink(filepath.Join(dir, "a"), DefaultFormat(), "csv")
	require.ErrorContains(t, err, `encoding "csv": want text or json`)
	_, err = CreateFileSink(filepath.Join(dir, "missing", "a"), DefaultFormat(), EncodingText)
	require.Error(t, err)
}

func TestReaderWithoutHeader(t *testing.T) {
	// AWS's examples come without a header: the default format is assumed.
	in := strings.Join(goldenExamples[0].lines, "\n") + "\n\n# a comment\n" + goldenExamples[2].lines[0]
	recs := readAll(t, NewReader(strings.NewReader(in)))
	require.Len(t, recs, 2)
	require.Equal(t, StatusNoData, recs[1].LogStatus)

	// A custom format must be given when there is no header.
	f, _ := goldenRecords(t, goldenExamples[7])
	r := NewReader(strings.NewReader(strings.Join(goldenExamples[7].lines, "\n")))
	r.SetFormat(f)
	recs = readAll(t, r)
	require.Len(t, recs, 6)
	require.Equal(t, "", recs[0].InstanceID)

	r = NewReader(strings.NewReader("version srcaddr\n2 10.0.0.1\n2 nonsense\n"))
	_, err := r.Next()
	require.NoError(t, err)
	_, err = r.Next()
	require.ErrorContains(t, err, `line 3: field srcaddr: value "nonsense"`)
	_, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fl.log")
	tail := NewTail(path)
	recs, err := tail.Poll()
	require.NoError(t, err)
	require.Empty(t, recs, "a file that does not exist yet has no records")

	f := DefaultFormat()
	lines := goldenExamples[4].lines
	appendFile := func(s string) {
		fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, err = fh.WriteString(s)
		require.NoError(t, err)
		require.NoError(t, fh.Close())
	}
	appendFile(f.Header() + "\n" + lines[0] + "\n" + lines[1][:20])
	recs, err = tail.Poll()
	require.NoError(t, err)
	require.Len(t, recs, 1, "the half-written line waits for its newline")

	appendFile(lines[1][20:] + "\nnot a record\n")
	recs, err = tail.Poll()
	require.Len(t, recs, 1)
	require.Equal(t, Reject, recs[0].Action)
	require.ErrorContains(t, err, "line 4")

	recs, err = tail.Poll()
	require.NoError(t, err)
	require.Empty(t, recs)

	// Truncated and rewritten (a new run): read from the beginning again.
	require.NoError(t, os.WriteFile(path, []byte(f.Header()+"\n"+lines[0]+"\n"), 0o644))
	recs, err = tail.Poll()
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, Accept, recs[0].Action)

	// Replaced by another file at the same path, even a longer one.
	other := path + ".new"
	var b strings.Builder
	b.WriteString(f.Header() + "\n")
	for range 5 {
		b.WriteString(lines[1] + "\n")
	}
	require.NoError(t, os.WriteFile(other, []byte(b.String()), 0o644))
	require.NoError(t, os.Rename(other, path))
	recs, err = tail.Poll()
	require.NoError(t, err)
	require.Len(t, recs, 5)
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fl.jsonl")
	f, recs := goldenRecords(t, goldenExamples[9])
	s, err := CreateFileSink(path, f, EncodingJSON)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Record)
	go func() {
		defer close(got)
		for r, err := range Follow(ctx, NewTail(path), 5*time.Millisecond) {
			if err == nil {
				got <- r
			}
		}
	}()
	require.NoError(t, s.Write(recs[:1]))
	require.Equal(t, recs[0], <-got)
	require.NoError(t, s.Write(recs[1:]))
	require.Equal(t, recs[1], <-got)
	cancel()
	for range got { // Follow returns once the context ends
	}
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

func TestFollowStopsWhenCallerBreaks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fl.log")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(goldenExamples[4].lines, "\n")+"\nbad\n"), 0o644))
	n := 0
	for _, err := range Follow(context.Background(), NewTail(path), time.Hour) {
		require.NoError(t, err)
		n++
		if n == 2 {
			break
		}
	}
	require.Equal(t, 2, n)
	// An error is yielded with a zero record.
	for r, err := range Follow(context.Background(), NewTail(path), time.Hour) {
		if err != nil {
			require.Equal(t, Record{}, r)
			require.ErrorContains(t, err, "line 3")
			break
		}
	}
}

func TestLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vpc.log")
	now := at(0)
	cfg := Config{ID: "fl-1", ResourceType: ResourceSubnet, ResourceID: "subnet-1", TrafficType: TrafficAll,
		TestAggregationInterval: time.Second, Destination: Destination{Path: path}}
	l, err := Open(cfg, func() time.Time { return now })
	require.NoError(t, err)
	require.Equal(t, cfg, l.Config())
	require.Equal(t, DefaultFormat(), l.Format())
	require.True(t, l.Covers(eniA))
	require.False(t, l.Covers(eniB))
	l.Watch(eniA)
	l.Watch(eniB) // outside the subnet: no NODATA for it

	o := obs(0.5)
	require.Equal(t, Recorded, l.Record(&o))
	o.ENI = eniB
	require.Equal(t, NotCovered, l.Record(&o))
	o.ENI = nil
	require.Equal(t, Invalid, l.Record(&o))

	require.NoError(t, l.Tick(at(1)))
	require.NoError(t, l.Tick(at(2)))
	l.Unwatch(eniA.InterfaceID)
	require.NoError(t, l.Close(at(2.5)))

	file, err := os.Open(path)
	require.NoError(t, err)
	defer file.Close()
	recs := readAll(t, NewReader(file))
	require.Len(t, recs, 2)
	require.Equal(t, StatusOK, recs[0].LogStatus)
	require.Equal(t, StatusNoData, recs[1].LogStatus)
	require.Equal(t, eniA.InterfaceID, recs[1].InterfaceID)

	_, err = Open(Config{ResourceType: ResourceVPC, ResourceID: "vpc-1"}, nil)
	require.ErrorContains(t, err, "no destination file")
	_, err = Open(Config{ResourceType: ResourceVPC, ResourceID: "vpc-1", Destination: Destination{Path: filepath.Join(path, "x")}}, nil)
	require.ErrorContains(t, err, "flow log on VPC \"vpc-1\"")
	_, err = NewLog(Config{ResourceType: ResourceVPC}, nil, nil)
	require.ErrorContains(t, err, "no resource ID")
}
