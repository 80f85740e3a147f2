// spawn_memory: with 1 P, main spawns 1,000,000 goroutines without yielding between spawns,
// then reads VmRSS. Reports the RSS growth per goroutine in bytes. Each goroutine waits on a
// shared channel, so even one that ran (Go's sysmon preempts main after 10 ms) stays alive
// with its stack until main has measured; then main releases them all and waits.
package main

import (
	"sync"
	"time"

	"gmpbench/internal/report"
)

const n = 1_000_000

var (
	release = make(chan struct{})
	wg      sync.WaitGroup
)

func waiter() {
	<-release
	wg.Done()
}

func main() {
	report.Setup(1)
	before := report.RSSKiB()
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go waiter()
	}
	spawned := time.Since(start)
	after := report.RSSKiB()
	close(release)
	wg.Wait()
	perG := float64(after-before) * 1024 / n
	report.Print("spawn_memory", perG, "bytes", "spawn_ns", report.NsPer(spawned, n))
}
