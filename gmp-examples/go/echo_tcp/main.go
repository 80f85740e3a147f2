// echo_tcp: an echo server with one goroutine per connection and 1,000 client goroutines,
// each on its own loopback TCP connection, writing 64 bytes and reading the echo back in a
// loop for --secs seconds (10 by default). Reports requests/s, with p50/p99 latency in µs and
// the packets the kernel dropped meanwhile (loopback traffic goes through the per-CPU backlog
// of net.core.netdev_max_backlog packets; a drop costs a 200 ms+ retransmission timeout, so a
// run with drops measures the kernel, not the runtime).
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"io"
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const (
	conns   = 1000
	msgSize = 64
	// histogram: 32 linear sub-buckets per power of two (about 3% resolution), in ns.
	subBits = 5
	nBucket = 64 * 32
)

var secs = flag.Float64("secs", 10, "how long the clients run, in seconds")

type histogram [nBucket]uint32

func bucket(ns uint64) int {
	e := 0
	if l := bits.Len64(ns); l > subBits+1 {
		e = l - subBits - 1
	}
	return e<<subBits + int(ns>>e)
}

// bucketValue is the middle of bucket i, in ns.
func bucketValue(i int) float64 {
	if i < 2<<subBits {
		return float64(i)
	}
	e := i>>subBits - 1
	m := i - e<<subBits
	return (float64(m) + 0.5) * float64(uint64(1)<<e)
}

func percentile(h *histogram, total uint64, p float64) float64 {
	rank := uint64(p * float64(total))
	var seen uint64
	for i, c := range h {
		seen += uint64(c)
		if seen > rank {
			return bucketValue(i)
		}
	}
	return bucketValue(nBucket - 1)
}

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, msgSize)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

func main() {
	report.Setup(2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	report.Check(err == nil, "listen: %v", err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	addr := ln.Addr().String()

	var (
		connected, done sync.WaitGroup
		start           = make(chan struct{})
		deadline        atomic.Int64 // unix ns; set before start is closed
		requests        atomic.Uint64
		failures        atomic.Int64
		mu              sync.Mutex
		total           histogram
	)
	connected.Add(conns)
	done.Add(conns)
	for id := 0; id < conns; id++ {
		go func(id int) {
			defer done.Done()
			c, err := net.Dial("tcp", addr)
			connected.Done()
			if err != nil {
				failures.Add(1)
				return
			}
			defer c.Close()
			<-start
			end := deadline.Load()
			var h histogram
			var n uint64
			out, in := make([]byte, msgSize), make([]byte, msgSize)
			binary.LittleEndian.PutUint64(out, uint64(id))
			for seq := uint64(0); ; seq++ {
				binary.LittleEndian.PutUint64(out[8:], seq)
				t := time.Now()
				if t.UnixNano() >= end {
					break
				}
				if _, err := c.Write(out); err != nil {
					failures.Add(1)
					return
				}
				if _, err := io.ReadFull(c, in); err != nil || !bytes.Equal(in, out) {
					failures.Add(1)
					return
				}
				h[bucket(uint64(time.Since(t)))]++
				n++
			}
			requests.Add(n)
			mu.Lock()
			for i, v := range h {
				total[i] += v
			}
			mu.Unlock()
		}(id)
	}
	connected.Wait()
	drops0 := report.SoftnetDrops()
	t0 := time.Now()
	deadline.Store(t0.Add(time.Duration(*secs * float64(time.Second))).UnixNano())
	close(start)
	done.Wait()
	elapsed := time.Since(t0)
	drops := report.SoftnetDrops() - drops0
	ln.Close()
	report.Check(failures.Load() == 0, "%d connections failed", failures.Load())
	n := requests.Load()
	report.Check(n > 0, "no requests completed")
	report.Print("echo_tcp", float64(n)/elapsed.Seconds(), "req/s",
		"p50_us", percentile(&total, n, 0.50)/1e3, "p99_us", percentile(&total, n, 0.99)/1e3,
		"requests", n, "drops", drops)
}
