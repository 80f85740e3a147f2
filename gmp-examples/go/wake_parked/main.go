// wake_parked: 100,000 goroutines, each parked on its own channel for 2 s, then all woken
// through their channels. Reports ns per wake: from the first send until the last goroutine
// has run, divided by the goroutines. --park SECONDS changes the 2 s.
package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const n = 100_000

var park = flag.Float64("park", 2, "how long the goroutines stay parked, in seconds")

func main() {
	report.Setup(2)
	chans := make([]chan struct{}, n)
	for i := range chans {
		chans[i] = make(chan struct{})
	}
	var ready, done sync.WaitGroup
	var woken atomic.Int64
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		c := chans[i]
		go func() {
			ready.Done()
			<-c
			woken.Add(1)
			done.Done()
		}()
	}
	ready.Wait()
	time.Sleep(time.Duration(*park * float64(time.Second)))
	start := time.Now()
	for _, c := range chans {
		c <- struct{}{}
	}
	done.Wait()
	elapsed := time.Since(start)
	report.Check(woken.Load() == n, "woke %d, want %d", woken.Load(), n)
	report.Print("wake_parked", report.NsPer(elapsed, n), "ns/op")
}
