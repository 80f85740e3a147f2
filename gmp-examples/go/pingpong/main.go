// pingpong: 2 goroutines bounce an int over 2 unbuffered channels, 1,000,000 round trips.
// Reports ns per round trip. The pingpong_p1 row runs it with --procs=1.
package main

import (
	"time"

	"gmpbench/internal/report"
)

const trips = 1_000_000

func main() {
	report.Setup(2)
	ping, pong := make(chan int), make(chan int)
	start := time.Now()
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < trips; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	_, open := <-pong
	elapsed := time.Since(start)
	report.Check(v == trips, "value %d after %d round trips", v, trips)
	report.Check(!open, "pong not closed")
	row := "pingpong"
	if *report.Procs == 1 {
		row = "pingpong_p1"
	}
	report.Print(row, report.NsPer(elapsed, trips), "ns/op")
}
