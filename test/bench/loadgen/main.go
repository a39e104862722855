// weft-loadgen: the proxy benchmark's fixed-rate load generator. Open model: request i is due at
// start + i/rate and goes out then, on its own goroutine, whatever earlier responses do, so a slow
// answer never holds back the next request (the coordinated omission of closed-loop tools like wrk).
// Latency is measured from the due time, not the send time, so any lateness of the generator is
// charged too rather than hidden. The pacer sleeps with nanosleep(2) on its own OS thread with 1 ns
// timer slack: Go's timers wake about 1 ms late on Linux, as large as what is being measured.
//
// Output: one JSON object per request, in sequence order.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

type result struct {
	Seq int `json:"seq"`
	// Microseconds from the due time to the send (the generator's own lateness).
	LagUs float64 `json:"lagUs"`
	// Microseconds from the due time to the last byte of the response.
	LatencyUs float64 `json:"latencyUs"`
	Code      int     `json:"code"`
	Bytes     int64   `json:"bytes"`
	Error     string  `json:"error"`
}

// sleepUntil blocks the calling OS thread until t, in nanosleep steps (it may wake early on a signal).
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		_ = syscall.Nanosleep(&ts, nil)
	}
}

func fire(client *http.Client, url, host string, expectBytes int64, seq int, due time.Time, out *result) {
	sent := time.Now()
	*out = result{Seq: seq, LagUs: micros(sent.Sub(due))}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		out.Error = err.Error()
		return
	}
	req.Host = host
	resp, err := client.Do(req)
	if err == nil {
		out.Code = resp.StatusCode
		out.Bytes, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	out.LatencyUs = micros(time.Since(due))
	if err != nil {
		out.Error = err.Error()
	} else if expectBytes >= 0 && out.Bytes != expectBytes {
		out.Error = fmt.Sprintf("body of %d bytes, expected %d", out.Bytes, expectBytes)
	}
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func main() {
	url := flag.String("url", "", "target URL (http://127.0.0.1:port/)")
	host := flag.String("host", "", "Host header")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 5*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout")
	expectBytes := flag.Int64("expect-bytes", -1, "response body size; others count as errors (-1: any)")
	output := flag.String("output", "-", "results file (- for standard output)")
	flag.Parse()
	if *url == "" || *rate < 1 {
		fmt.Fprintln(os.Stderr, "usage: weft-loadgen -url URL [-host H] -rate N -duration D [-expect-bytes B] [-output F]")
		os.Exit(2)
	}
	client := &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 1024,
			DisableCompression:  true,
			// HTTP/1.1 only, as the benchmark's clients speak it.
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		},
	}
	total := int(duration.Seconds() * float64(*rate))
	results := make([]result, total)
	interval := time.Second / time.Duration(*rate)

	var wg sync.WaitGroup
	runtime.LockOSThread()
	_, _, _ = syscall.Syscall(syscall.SYS_PRCTL, 29 /* PR_SET_TIMERSLACK */, 1, 0)
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		sleepUntil(due)
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			fire(client, *url, *host, *expectBytes, i, due, &results[i])
		}(i, due)
	}
	runtime.UnlockOSThread()
	wg.Wait()

	w := os.Stdout
	if *output != "-" {
		f, err := os.Create(*output)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	buf := bufio.NewWriter(w)
	enc := json.NewEncoder(buf)
	for i := range results {
		if err := enc.Encode(&results[i]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := buf.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
