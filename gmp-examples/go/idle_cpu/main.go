// idle_cpu: 1000 goroutines each sleep 1 s in a loop; main measures the process's CPU time
// (utime+stime from /proc/self/stat) over a 3 s window. Reports it as % of one core.
package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const n = 1000

var window = flag.Duration("window", 3*time.Second, "how long to measure")

func main() {
	report.Setup(2)
	var stop atomic.Bool
	var wg, started sync.WaitGroup
	var wakeups atomic.Int64
	wg.Add(n)
	started.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			started.Done()
			for !stop.Load() {
				time.Sleep(time.Second)
				wakeups.Add(1)
			}
		}()
	}
	started.Wait()
	t0, c0 := time.Now(), report.CPUTicks()
	time.Sleep(*window)
	c1, wall := report.CPUTicks(), time.Since(t0)
	stop.Store(true)
	wg.Wait()
	secs := wall.Seconds()
	// Each goroutine wakes about once a second; on a loaded machine timers fire late, so only
	// demand that each woke once on average (a runtime that never fires timers fails this).
	report.Check(wakeups.Load() >= n, "only %d wake-ups of %d sleepers in %.1f s", wakeups.Load(), n, secs)
	pct := float64(c1-c0) / report.UserHZ / secs * 100
	report.Print("idle_cpu", pct, "%", "window_ms", report.Ms(wall))
}
