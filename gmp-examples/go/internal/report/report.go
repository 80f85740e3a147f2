// Package report holds what every Go twin of a gmp benchmark workload shares: the flags,
// the memory and CPU probes read from /proc/self, the result check and the one output line
// that `cargo xtask bench` parses (the gmp workloads print the same line; see
// gmp-examples/src/bench.rs).
package report

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"time"
)

// Procs is the --procs flag: GOMAXPROCS for the workload (2 unless the row says _p1).
var Procs = flag.Int("procs", 2, "GOMAXPROCS for the workload")

// Setup parses the flags and sets GOMAXPROCS to --procs (or to def when the flag is absent).
// With GO_TRACE=FILE in the environment it also starts Go's execution tracer into FILE (the
// twin of gmp's GMP_TRACE=FILE), which Print stops: the overhead of Go's own tracer on this
// machine, to compare with gmp's.
func Setup(def int) {
	*Procs = def
	flag.Parse()
	if *Procs < 1 {
		Fail("--procs must be at least 1, not %d", *Procs)
	}
	runtime.GOMAXPROCS(*Procs)
	if path := os.Getenv("GO_TRACE"); path != "" {
		f, err := os.Create(path)
		Check(err == nil, "GO_TRACE: %v", err)
		Check(trace.Start(f) == nil, "GO_TRACE: cannot start the tracer")
		traceFile = f
	}
}

// traceFile is the GO_TRACE file while the tracer runs.
var traceFile *os.File

// stopTrace stops a GO_TRACE trace (Print does, before it prints).
func stopTrace() {
	if traceFile != nil {
		trace.Stop()
		Check(traceFile.Close() == nil, "GO_TRACE: cannot write the trace")
		traceFile = nil
	}
}

// Fail prints an error and exits with status 1 (a wrong result must never print a figure).
func Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// Check fails the run unless ok.
func Check(ok bool, format string, args ...any) {
	if !ok {
		Fail(format, args...)
	}
}

// statusKiB reads a "Key:   N kB" line of /proc/self/status.
func statusKiB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		Fail("open /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			n, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				Fail("parse %q: %v", line, err)
			}
			return n
		}
	}
	Fail("no %s in /proc/self/status", key)
	return 0
}

// RSSKiB is the resident set size now (VmRSS).
func RSSKiB() int64 { return statusKiB("VmRSS") }

// PeakRSSKiB is the peak resident set size of the process (VmHWM).
func PeakRSSKiB() int64 { return statusKiB("VmHWM") }

// CPUTicks is utime+stime of the whole process in clock ticks (USER_HZ, 100 on Linux).
func CPUTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		Fail("read /proc/self/stat: %v", err)
	}
	s := string(b)
	// The command name (field 2) is in parentheses and may hold spaces: start after the last ')'.
	i := strings.LastIndexByte(s, ')')
	Check(i >= 0, "malformed /proc/self/stat")
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	Check(len(f) > 13, "short /proc/self/stat")
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	Check(err1 == nil && err2 == nil, "bad utime/stime in /proc/self/stat")
	return ut + st
}

// SoftnetDrops is the number of packets the kernel has dropped because a CPU's input backlog
// was full (column 2 of /proc/net/softnet_stat, summed over CPUs).
func SoftnetDrops() int64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 16, 64)
		Check(err == nil, "bad /proc/net/softnet_stat line %q", line)
		total += n
	}
	return total
}

// UserHZ is the unit of CPUTicks (USER_HZ; 100 on every Linux architecture).
const UserHZ = 100

// NsPer is the elapsed time divided by n operations, in nanoseconds.
func NsPer(d time.Duration, n int) float64 { return float64(d.Nanoseconds()) / float64(n) }

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// Print writes the result line: `BENCH row=<row> value=<v> unit=<unit> rss_kib=<VmHWM> [k=v...]`.
// extra is a list of key, value pairs.
func Print(row string, value float64, unit string, extra ...any) {
	stopTrace()
	var b strings.Builder
	fmt.Fprintf(&b, "BENCH row=%s value=%s unit=%s rss_kib=%d", row, num(value), unit, PeakRSSKiB())
	for i := 0; i+1 < len(extra); i += 2 {
		v := extra[i+1]
		if f, ok := v.(float64); ok {
			v = num(f)
		}
		fmt.Fprintf(&b, " %v=%v", extra[i], v)
	}
	fmt.Println(b.String())
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
