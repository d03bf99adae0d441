package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ec2sim/ec2sim/lab"
)

var captureCmd = &command{
	name:    "capture",
	summary: "capture an ENI's frames with the fabric's verdicts (pcapng, or pcap for tcpdump)",
	usage: `Usage: ec2sim capture [--lab LAB] TARGET [-w FILE] [-c COUNT] [--duration D] [--format pcapng|pcap] [--verdicts] [-q]

Captures what an ENI sends and what is sent to it, where the fabric decides, so frames the
fabric drops (spoofed sources, security groups, network ACLs, routes) are in the capture too.
TARGET is INSTANCE (its eth0), INSTANCE.ethN, an ENI ID, internet, an on-prem network (its
side of the VPN gateway), or several separated by commas. Frames go to FILE, or to standard
output for a pipe.

pcapng (the default) has one interface per ENI ("web-1.eth0 eni-..."), the direction of each
frame, and its verdict as a packet comment: "out deliver", "in deliver",
"out drop spoofed-source-ip stage source-check", "in drop security-group-ingress stage
sg-ingress", "in drop network-acl-inbound stage nacl-inbound rule *", "in generated arp-reply"
(answers the fabric makes). Wireshark shows the comments (frame.comment); tcpdump reads the file
and ignores them. --format pcap writes classic pcap for older tools and prints the verdicts to
standard error, one line per frame: number (as tcpdump -# counts), time, ENI, verdict.

The capture ends after COUNT frames, after D, or on Ctrl-C; it prints how many frames it
captured and how many the fabric had to drop because the writer fell behind (it never slows
the engine down).

Examples:
  ec2sim capture web-1 -w web.pcapng
  ec2sim capture web-1 -c 10 | tcpdump -nn -r -
  ec2sim capture web-1,db-1 --duration 30s -w both.pcapng
  ec2sim capture router.eth1 --format pcap -w router.pcap 2>verdicts.txt
`,
}

func init() {
	captureCmd.run = runCapture
	extraCommands = append(extraCommands, captureCmd)
}

func runCapture(args []string) error {
	fs := newFlags(captureCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	file := fs.String("w", "", "write to FILE (default: standard output, which must not be a terminal)")
	count := fs.Int("c", 0, "stop after COUNT frames (0: no limit)")
	duration := fs.Duration("duration", 0, "stop after D (0: no limit)")
	format := fs.String("format", lab.FormatPcapng, "pcapng (with verdicts as comments) or pcap (classic)")
	verdicts := fs.Bool("verdicts", false, "print each frame's verdict to standard error (always with --format pcap)")
	quiet := fs.Bool("q", false, "do not print the summary at the end")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{2, errors.New("want one TARGET: INSTANCE[.ethN], an ENI ID, internet or an on-prem network (see ec2sim capture --help)")}
	}
	if *format != lab.FormatPcapng && *format != lab.FormatPcap {
		return &exitError{2, fmt.Errorf("--format %q: want pcapng or pcap", *format)}
	}
	if *count < 0 || *duration < 0 {
		return &exitError{2, errors.New("-c and --duration must not be negative")}
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	out := io.Writer(os.Stdout)
	if *file == "" {
		if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return &exitError{2, errors.New("refusing to write a capture to a terminal: use -w FILE or pipe it (| tcpdump -nn -r -)")}
		}
	}

	conn, err := net.DialTimeout("unix", filepath.Join(lab.Dir(name), "ctl.sock"), 2*time.Second)
	if err != nil {
		return fmt.Errorf("lab %s: %w (%v)", name, lab.ErrNotRunning, err)
	}
	defer conn.Close()
	req := lab.Request{Op: "capture", Target: pos[0], Args: map[string]string{"target": pos[0], "format": lab.FormatPcapng}}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return err
	}
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("lab %s: no answer from the engine: %w", name, err)
	}
	var resp lab.Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("lab %s: bad answer from the engine: %w", name, err)
	}
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = "the engine does not know the capture operation (is it older than this command?)"
		}
		return errors.New(resp.Error)
	}
	var ifaces []lab.CaptureInterface
	if err := lab.DecodeResult(&resp, &ifaces); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Time{})

	if *file != "" {
		f, err := os.Create(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var vw io.Writer
	if *verdicts || *format == lab.FormatPcap {
		vw = os.Stderr
	}
	cw, err := lab.NewCaptureWriter(out, *format, ifaces, vw)
	if err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}

	// Ending: half-close, so the engine stops, sends the statistics and closes; read to the end
	// within a few seconds.
	var once sync.Once
	finish := func() {
		once.Do(func() {
			conn.(*net.UnixConn).CloseWrite()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var timeout <-chan time.Time
		if *duration > 0 {
			timeout = time.After(*duration)
		}
		select {
		case <-sigs:
		case <-timeout:
		case <-stop:
			return
		}
		finish()
	}()

	drops := make([]uint64, len(ifaces))
	cr, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{StatisticsCallback: func(i int, st pcapgo.NgInterfaceStatistics) {
		if i < len(drops) && st.PacketsDropped != pcapgo.NgNoValue64 {
			drops[i] = st.PacketsDropped
		}
	}})
	if err != nil {
		return fmt.Errorf("capture stream: %w", err)
	}
	n := 0
	written := make([]uint64, len(ifaces))
	var rerr error
	for {
		fr, err := lab.NextCapturedFrame(cr)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				rerr = err
			}
			break
		}
		if *count > 0 && n >= *count {
			continue // read on to the statistics at the end
		}
		if err := cw.Write(fr); err != nil {
			return err
		}
		n++
		if fr.Interface < len(written) {
			written[fr.Interface]++
		}
		if *count > 0 && n == *count {
			finish()
		}
		if br.Buffered() == 0 {
			if err := cw.Flush(); err != nil {
				return err
			}
		}
	}
	var dropped uint64
	for _, d := range drops {
		dropped += d
	}
	if err := cw.Close(written, drops); err != nil {
		return err
	}
	if !*quiet {
		var names []string
		for _, i := range ifaces {
			names = append(names, i.Name+" ("+i.ENI+")")
		}
		fmt.Fprintf(os.Stderr, "%d frames captured on %s\n%s frames dropped by ec2sim (the capture fell behind)\n",
			n, strings.Join(names, ", "), strconv.FormatUint(dropped, 10))
	}
	if rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
		return fmt.Errorf("capture stream: %w", rerr)
	}
	return nil
}
