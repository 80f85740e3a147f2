// select4: 1 receiver selecting over 4 unbuffered channels, each fed by its own sender,
// 1,000,000 messages in all. Reports ns per message and checks every message arrived once.
package main

import (
	"time"

	"gmpbench/internal/report"
)

const (
	senders   = 4
	messages  = 1_000_000
	perSender = messages / senders
)

func main() {
	report.Setup(2)
	var chans [senders]chan int64
	for i := range chans {
		chans[i] = make(chan int64)
	}
	start := time.Now()
	for s := 0; s < senders; s++ {
		go func(s int) {
			base := int64(s * perSender)
			for i := int64(0); i < perSender; i++ {
				chans[s] <- base + i
			}
		}(s)
	}
	var sum int64
	var per [senders]int
	for i := 0; i < messages; i++ {
		select {
		case v := <-chans[0]:
			sum += v
			per[0]++
		case v := <-chans[1]:
			sum += v
			per[1]++
		case v := <-chans[2]:
			sum += v
			per[2]++
		case v := <-chans[3]:
			sum += v
			per[3]++
		}
	}
	elapsed := time.Since(start)
	const want = int64(messages) * (messages - 1) / 2
	report.Check(sum == want, "sum %d, want %d", sum, want)
	for s, c := range per {
		report.Check(c == perSender, "channel %d delivered %d, want %d", s, c, perSender)
	}
	report.Print("select4", report.NsPer(elapsed, messages), "ns/op")
}
