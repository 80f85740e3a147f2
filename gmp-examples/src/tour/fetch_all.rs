//! Concurrent network requests (the seed's "fetch many URLs at once"): a local HTTP server,
//! and a client that fetches every URL in its own goroutine, each with a per-request timeout
//! made of `select` and `time.After`:
//!
//! ```go
//! const timeout = 200 * time.Millisecond
//! const slow = 500 * time.Millisecond
//!
//! type result struct {
//!     status int
//!     body   string
//!     err    error
//! }
//!
//! func fetch(url string) result {
//!     resp, err := http.Get(url)
//!     if err != nil {
//!         return result{err: err}
//!     }
//!     defer resp.Body.Close()
//!     body, err := io.ReadAll(resp.Body)
//!     return result{resp.StatusCode, string(body), err}
//! }
//!
//! func fetchWithTimeout(url string, timeout time.Duration) result {
//!     done := make(chan result, 1) // buffered: the request goroutine can finish after a timeout
//!     go func() { done <- fetch(url) }()
//!     select {
//!     case r := <-done:
//!         return r
//!     case <-time.After(timeout):
//!         return result{err: fmt.Errorf("timed out after %d ms", timeout.Milliseconds())}
//!     }
//! }
//!
//! func main() {
//!     mux := http.NewServeMux()
//!     mux.HandleFunc("GET /page/{n}", func(w http.ResponseWriter, r *http.Request) {
//!         fmt.Fprintf(w, "page %s", r.PathValue("n"))
//!     })
//!     mux.HandleFunc("GET /slow/{n}", func(w http.ResponseWriter, r *http.Request) {
//!         time.Sleep(slow)
//!         fmt.Fprintf(w, "slow page %s", r.PathValue("n"))
//!     })
//!     mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
//!         w.WriteHeader(http.StatusNotFound)
//!         fmt.Fprint(w, "not found")
//!     })
//!     ln, err := net.Listen("tcp", "127.0.0.1:0")
//!     if err != nil {
//!         panic(err)
//!     }
//!     go http.Serve(ln, mux) // one goroutine per connection
//!
//!     paths := []string{
//!         "/page/1", "/page/2", "/slow/3", "/page/4",
//!         "/missing", "/page/6", "/slow/7", "/page/8",
//!     }
//!     type indexed struct {
//!         i int
//!         r result
//!     }
//!     results := make(chan indexed, len(paths))
//!     for i, path := range paths {
//!         url := fmt.Sprintf("http://%s%s", ln.Addr(), path)
//!         go func() { results <- indexed{i, fetchWithTimeout(url, timeout)} }()
//!     }
//!     out := make([]result, len(paths))
//!     for range paths {
//!         r := <-results
//!         out[r.i] = r.r
//!     }
//!     for i, path := range paths {
//!         if r := out[i]; r.err != nil {
//!             fmt.Printf("GET %s: %v\n", path, r.err)
//!         } else {
//!             fmt.Printf("GET %s: %d %q\n", path, r.status, r.body)
//!         }
//!     }
//! }
//! ```
//!
//! The server answers `/page/N` at once and `/slow/N` after 500 ms; the client gives each
//! request 200 ms, so the slow ones time out. Results print in URL order, as Go's do.
//!
//! gmp has no `net/http`, so `serve`/`handle` (for `http.Serve` and the `ServeMux`) and
//! `fetch` (for `http.Get`) speak just enough HTTP/1.1 over `gmp_core::net`, one request
//! per connection; `fetch_with_timeout` and `main` follow Go's.

use gmp_chan::{chan, select, time};
use gmp_core::net::{TcpListener, TcpStream};
use gmp_core::{go, sleep};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_millis(200);
const SLOW: Duration = Duration::from_millis(500);

/// A tiny HTTP/1.1 server: one goroutine per connection, one request per connection.
fn serve(ln: TcpListener) {
    for conn in ln.incoming() {
        let Ok(conn) = conn else { continue };
        go(move || {
            if let Err(e) = handle(conn) {
                eprintln!("fetch_all: server: {e}");
            }
        });
    }
}

fn handle(conn: TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(&conn);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers, up to the blank line.
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path.split_once('/').map(|(_, p)| p.split_once('/'))) {
        ("GET", Some(Some(("page", n)))) => ("200 OK", format!("page {n}")),
        ("GET", Some(Some(("slow", n)))) => {
            sleep(SLOW);
            ("200 OK", format!("slow page {n}"))
        }
        ("GET", _) => ("404 Not Found", "not found".to_string()),
        _ => ("405 Method Not Allowed", "GET only".to_string()),
    };
    let mut w = &conn;
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// GET `url` (`http://host:port/path`): the status code and the body.
fn fetch(url: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut conn = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .map_err(|e| format!("receive: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed response: no blank line after the headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("malformed status line")?;
    Ok((status, body.to_string()))
}

/// Fetches `url` with a timeout: the request runs in its own goroutine; whichever of its
/// result and the timer comes first wins.
fn fetch_with_timeout(url: String, timeout: Duration) -> Result<(u16, String), String> {
    // Buffered, so the request goroutine can finish (and exit) even after a timeout.
    let done = chan(1);
    let tx = done.sender();
    go(move || {
        let _ = tx.send(fetch(&url));
    });
    select! {
        recv(done) -> r => r.unwrap_or_else(|| Err("request goroutine vanished".into())),
        recv(time::after(timeout)) -> _ => Err(format!("timed out after {} ms", timeout.as_millis())),
    }
}

/// Runs the program: prints one line per URL, in URL order.
pub fn main() {
    gmp_core::run(|| {
        let ln = TcpListener::bind("127.0.0.1:0").expect("listen on a loopback port");
        let addr: SocketAddr = ln.local_addr().expect("a bound listener has an address");
        go(move || serve(ln));

        let paths = [
            "/page/1", "/page/2", "/slow/3", "/page/4", "/missing", "/page/6", "/slow/7", "/page/8",
        ];
        // Every request at once, each in its own goroutine; results come back by index.
        let results = chan(paths.len());
        for (i, path) in paths.iter().enumerate() {
            let url = format!("http://{addr}{path}");
            let tx = results.sender();
            go(move || {
                let _ = tx.send((i, fetch_with_timeout(url, TIMEOUT)));
            });
        }
        let mut out: Vec<Option<Result<(u16, String), String>>> = vec![None; paths.len()];
        for _ in 0..paths.len() {
            let (i, r) = results.recv().expect("a result per request");
            out[i] = Some(r);
        }
        for (path, r) in paths.iter().zip(out) {
            match r.expect("every request reported") {
                Ok((status, body)) => println!("GET {path}: {status} {body:?}"),
                Err(e) => println!("GET {path}: {e}"),
            }
        }
    });
}
