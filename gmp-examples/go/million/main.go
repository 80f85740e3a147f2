// million: 1,000,000 goroutines alive at once, each parked on its own channel; once all are
// parked, main releases them one by one and waits for all. Reports total ms; the peak RSS is
// the point.
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const n = 1_000_000

func main() {
	report.Setup(2)
	chans := make([]chan struct{}, n)
	for i := range chans {
		chans[i] = make(chan struct{})
	}
	var ready, done sync.WaitGroup
	var released atomic.Int64
	start := time.Now()
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		c := chans[i]
		go func() {
			ready.Done()
			<-c
			released.Add(1)
			done.Done()
		}()
	}
	ready.Wait()
	parked := report.RSSKiB()
	for _, c := range chans {
		c <- struct{}{}
	}
	done.Wait()
	elapsed := time.Since(start)
	report.Check(released.Load() == n, "released %d, want %d", released.Load(), n)
	report.Print("million", report.Ms(elapsed), "ms", "parked_rss_kib", parked)
}
